// Time travel: the state of markets, bets and flagged wallets as of a position or a moment, folded
// in memory from the log (streamed, bounded by the number of bets), without touching the live
// tables.
//
//   ASSIGN_OR_RETURN(Projector state, ReplayUntil(store, ReplayPoint::AtSeq(120)));
#ifndef LEDGER_REPLAY_REPLAY_H_
#define LEDGER_REPLAY_REPLAY_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"
#include "projections/projector.h"

namespace ledger {

// Where a replay stops: after position `seq`, or after the last row recorded at or before `time`
// (recordedAt: what the ledger knew at that moment; recordedAt only grows along positions).
struct ReplayPoint {
  std::optional<int64_t> seq;
  std::optional<TimeMicros> time;

  static ReplayPoint AtSeq(int64_t s) { return {s, std::nullopt}; }
  static ReplayPoint AtTime(TimeMicros t) { return {std::nullopt, t}; }
  static ReplayPoint Head() { return {}; }
  // "123" (a position) or an RFC 3339 time; nullopt when it is neither.
  static std::optional<ReplayPoint> Parse(const std::string& text);
};

// Folds the log up to `point` into a Projector (tables as of then, PoolSnapshot included).
// kDataLoss when a row breaks a rule (the log was altered: run `ledger verify`).
// Every row folded is checked against the chain first (engine/chain_guard.h): a broken chain is a
// broken-chain error unless `trust` allows it (then trust->first_break says where).
absl::StatusOr<Projector> ReplayUntil(pg::Database* store, const ReplayPoint& point,
                                      ProjectorOptions options = {}, ChainTrust* trust = nullptr);

}  // namespace ledger

#endif  // LEDGER_REPLAY_REPLAY_H_
