// Audit reports: the full timeline of a market or a wallet (every event with its position, hash,
// times and the state it produced), the seed's market statistics, and for a resolved market the
// parimutuel settlement with its conservation check. Rendered as JSON, CSV (the timeline) or one
// self-contained HTML page with the pool-over-time chart drawn from the PoolSnapshot history.
#ifndef LEDGER_REPLAY_AUDIT_H_
#define LEDGER_REPLAY_AUDIT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"
#include "projections/projector.h"

namespace ledger {

struct TimelineEntry {
  int64_t seq = 0;
  std::string hash;
  Event event;
  TimeMicros recorded_at = 0;
  std::string state_after;  // "ACTIVE yes=... no=..." for a market, the bet's status for a wallet.
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
  std::string at;
  int64_t yes_pool = 0;
  int64_t no_pool = 0;
};

struct AuditReport {
  std::string subject;  // "market <id>" or "wallet <address>"
  int64_t head_seq = 0;
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
                                  ProjectorOptions options = {}, ChainTrust* trust = nullptr);

std::string AuditJson(const AuditReport& report);
std::string AuditCsv(const AuditReport& report);
std::string AuditHtml(const AuditReport& report);

}  // namespace ledger

#endif  // LEDGER_REPLAY_AUDIT_H_
