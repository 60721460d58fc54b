// Audit reports: the full timeline of a market or a wallet (every event with its position, hash,
// times, amount and the state it produced), the seed's market statistics, and for a resolved market
// the parimutuel settlement with its conservation check; for a wallet, its totals per market.
// Every format starts with the same header (where the report comes from: generated at, version,
// database, head seq and hash, digest and verify results, range) and the findings an auditor reads
// first. Rendered as JSON, CSV (the timeline) or one self-contained HTML page
// (docs/auditors-guide.md: the pool chart, a paged timeline, a print stylesheet).
#ifndef LEDGER_REPLAY_AUDIT_H_
#define LEDGER_REPLAY_AUDIT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"
#include "projections/projector.h"
#include "replay/digest.h"

namespace ledger {

struct TimelineEntry {
  int64_t seq = 0;
  std::string hash;
  Event event;
  TimeMicros recorded_at = 0;
  std::string
      state_after;  // "ACTIVE yesPool=... noPool=..." for a market, "bet <STATUS>" for a wallet.
  // The amount the action moves or concerns, in micro-USDT: a placement's or a confirmation's (and
  // a flag's) stake, a clawback as a negative amount, a refund the clawback it returns; none for
  // market and wallet actions.
  std::optional<int64_t> amount;
  int64_t yes_pool = 0;  // The market's pools after the event.
  int64_t no_pool = 0;
};

// An audit's range. From and until are positions, or times compared with when each event happened
// (createdAt). The timeline lists the events inside it; the state (statistics, settlement) is as
// of its end: the events up to `until_seq`, or those that happened by `until_time` (an event-time
// cut, replay/replay.h: what needs a later event is held back). The whole log is read and its chain
// checked either way.
struct AuditRange {
  std::optional<int64_t> from_seq;
  std::optional<int64_t> until_seq;
  std::optional<TimeMicros> from_time;
  std::optional<TimeMicros> until_time;

  bool whole_log() const { return !from_seq && !until_seq && !from_time && !until_time; }
  std::string Describe()
      const;  // "the whole log", "seq 10 to 500", "events that happened from ...".
};

struct AuditOptions {
  AuditRange range;
  ProjectorOptions projector;
  std::optional<LogDigest> digest;  // Checked against the row at its position.
  std::string digest_signature;     // What verify says of its signature: "valid", "unsigned", ...
  TimeMicros now = 0;    // Generated at; the age of an unrefunded clawback. 0: the clock's now.
  std::string database;  // As the header names it (no password).
};

// Where the report comes from, at the head of every format.
struct ReportHeader {
  TimeMicros generated_at = 0;
  std::string ledger_version;
  std::string database;
  int64_t head_seq = 0;   // The log's last row, read and chain-checked.
  std::string head_hash;  // Its full hash.
  int64_t state_seq = 0;  // The last position folded into the report's state.
  std::string range;      // AuditRange::Describe.
  std::string digest;     // "not checked", "matches at seq N", or what is wrong.
  bool digest_ok = true;  // False when a digest was given and does not match.
  std::string verify;     // The chain, and this subject's projected rows against the tables.
  bool verify_ok = true;
};

struct UnrefundedClawback {
  std::string bet_id;
  std::string wallet;
  int64_t seq = 0;
  int64_t amount = 0;
  int64_t age_seconds = 0;  // From the clawback's createdAt to the report's time.
};

// What an auditor reads first.
struct AuditFindings {
  std::vector<UnrefundedClawback> unrefunded;
  int64_t flags = 0;        // FLAGGED events in the range.
  int64_t flagged_now = 0;  // Wallets with an active flag (in this market, or this wallet's).
  int64_t held_back = 0;    // Events an event-time cut held back.
};

// A wallet's money in one market: what it staked, what came back, and its settlement.
struct WalletMarketTotals {
  std::string market_id;
  std::string status;
  int64_t bets = 0;
  int64_t staked = 0;  // Confirmed stakes (PENDING bets hold no money in the pool).
  int64_t clawed_back = 0;
  int64_t refunded = 0;
  std::optional<int64_t> payout;  // A resolved market's parimutuel payout to this wallet.
  int64_t net = 0;                // payout + refunded - staked.
};

struct MarketStats {
  std::string market_id;
  std::string question;
  std::string status;
  std::optional<std::string> winner;
  int64_t yes_pool = 0;
  int64_t no_pool = 0;
  int64_t total_pool = 0;
  std::optional<std::string> yes_percent;  // One decimal, as the seed's ROUND(…, 1); none when 0.
  int64_t total_bets = 0;                  // CONFIRMED bets.
  int64_t unique_wallets = 0;              // Among CONFIRMED bets.
};

struct Payout {
  std::string bet_id;
  std::string wallet;
  int64_t stake = 0;   // Amount still in the pool (amount minus any clawback).
  int64_t payout = 0;  // floor(stake * totalPool / winningStakes).
};

// Parimutuel settlement of a resolved market: the whole pool goes to the winning side in proportion
// to stakes, floor-rounded to the micro-USDT; what rounding leaves is breakage.
struct Settlement {
  std::string winner;
  int64_t total_pool = 0;
  int64_t winning_stakes = 0;
  std::vector<Payout> payouts;
  int64_t paid = 0;
  int64_t breakage = 0;
  int64_t confirmed_stakes = 0;  // Every confirmed amount, before clawbacks.
  int64_t clawbacks = 0;
  bool conserved = false;  // confirmed_stakes == paid + clawbacks + breakage
};

struct SnapshotPoint {
  TimeMicros at = 0;
  int64_t yes_pool = 0;
  int64_t no_pool = 0;
};

struct AuditReport {
  std::string subject;  // "market <id>" or "wallet <address>"
  ReportHeader header;
  AuditFindings findings;
  std::vector<WalletMarketTotals> wallet_totals;  // A wallet's report only.
  std::optional<TimeMicros> market_end;           // A market's endDate, for the chart.
  std::optional<TimeMicros> market_resolved;      // When it was resolved, for the chart.
  std::vector<TimelineEntry> timeline;
  std::vector<MarketStats> markets;
  std::optional<Settlement> settlement;
  std::vector<SnapshotPoint> pool_history;
  // Set when the report was derived from a log whose chain is broken (--allow-broken-chain): every
  // format says so first.
  std::optional<ChainBreak> untrusted;
};

// Exactly one of `market_id` and `wallet` is set. kNotFound when the market does not exist.
absl::StatusOr<AuditReport> Audit(pg::Database* store, const std::optional<std::string>& market_id,
                                  const std::optional<std::string>& wallet,
                                  const AuditOptions& options = {}, ChainTrust* trust = nullptr);

// True for a market's report, false for a wallet's.
bool IsMarketReport(const AuditReport& report);

std::string AuditJson(const AuditReport& report);
std::string AuditCsv(const AuditReport& report);
std::string AuditHtml(const AuditReport& report);

}  // namespace ledger

#endif  // LEDGER_REPLAY_AUDIT_H_
