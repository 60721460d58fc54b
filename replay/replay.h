// Time travel: the state of markets, bets and flagged wallets as of a position or a moment, folded
// in memory from the log (streamed, bounded by the number of bets), without touching the live
// tables.
//
//   ASSIGN_OR_RETURN(Projector state, ReplayUntil(store, ReplayPoint::AtSeq(120)));
#ifndef LEDGER_REPLAY_REPLAY_H_
#define LEDGER_REPLAY_REPLAY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"
#include "projections/projector.h"

namespace ledger {

// Where a replay stops: after position `seq`; after the last row recorded at or before `time`
// (recordedAt: what the ledger knew at that moment; recordedAt only grows along positions); or,
// with `event_time`, the events that happened (their createdAt) at or before it, wherever they are
// in the log: a log loaded after the fact, or an event that arrived late, is cut by when things
// happened, not by when the ledger heard of them.
struct ReplayPoint {
  std::optional<int64_t> seq;
  std::optional<TimeMicros> time;
  std::optional<TimeMicros> event_time;

  static ReplayPoint AtSeq(int64_t s) { return {s, std::nullopt, std::nullopt}; }
  static ReplayPoint AtTime(TimeMicros t) { return {std::nullopt, t, std::nullopt}; }
  static ReplayPoint AtEventTime(TimeMicros t) { return {std::nullopt, std::nullopt, t}; }
  static ReplayPoint Head() { return {}; }
  // "123" (a position) or an RFC 3339 time; nullopt when it is neither.
  static std::optional<ReplayPoint> Parse(const std::string& text);
};

// Held-back events listed by an event-time replay, at most this many (all are counted).
inline constexpr size_t kHeldBackListedMax = 100;

// What an event-time replay folded. Every row is read (an event may arrive late) and chain-checked.
// Events in log order that happened by the cut are folded; one that then breaks a rule needs an
// event that happened after the cut (a confirmation whose placement is stamped later, say): it is
// held back, never forced, and listed.
struct EventTimeCut {
  struct HeldBack {
    int64_t seq = 0;
    std::string reason;  // The rule it breaks without the events after the cut.
  };
  int64_t folded = 0;     // Events that happened by the cut, folded.
  int64_t after_cut = 0;  // Events that happened after it, not folded.
  int64_t held_back_total = 0;
  std::vector<HeldBack> held_back;  // The first kHeldBackListedMax.
  int64_t last_recorded_seq = 0;    // The last position folded.
};

// Folds the log up to `point` into a Projector (tables as of then, PoolSnapshot included).
// kDataLoss when a row breaks a rule (the log was altered: run `ledger verify`).
// Every row folded is checked against the chain first (engine/chain_guard.h): a broken chain is a
// broken-chain error unless `trust` allows it (then trust->first_break says where).
// One row of an event-time fold: skipped when it happened after `until`, held back (and listed in
// `cut`) when it breaks a rule without what happened after; true when folded. `row` must have
// passed the chain check.
bool FoldByEventTime(Projector& projector, const LoggedEvent& row, TimeMicros until,
                     EventTimeCut* cut);

// With point.event_time, `cut` (optional) says what was folded, skipped and held back.
absl::StatusOr<Projector> ReplayUntil(pg::Database* store, const ReplayPoint& point,
                                      ProjectorOptions options = {}, ChainTrust* trust = nullptr,
                                      EventTimeCut* cut = nullptr);

}  // namespace ledger

#endif  // LEDGER_REPLAY_REPLAY_H_
