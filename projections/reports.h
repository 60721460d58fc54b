// The seed's read queries as reports on the projected tables: "Get Market with Statistics" (`ledger
// stats`) and "Get User Bet History" (`ledger history`). The SQL is the seed's, with the literal
// turned into a parameter, so the reports prove that the projections still answer the seed's
// queries. Each report says which log position the tables reflect (their checkpoint) and where the
// log is.
//
//   ASSIGN_OR_RETURN(std::optional<MarketStatsReport> r, QueryMarketStats(session,
//   "eden-haus-hackathon"));
//
// Not thread-safe (one SqlSession).
#ifndef LEDGER_PROJECTIONS_REPORTS_H_
#define LEDGER_PROJECTIONS_REPORTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/pg/sql_session.h"

namespace ledger {

// Where the data of a report comes from: the projection's checkpoint and the log's head.
struct Freshness {
  int64_t projected_seq = 0;
  int64_t log_seq = 0;
};

struct MarketStatsReport {
  std::string market_id;
  std::string question;
  std::string status;
  int64_t yes_pool = 0;
  int64_t no_pool = 0;
  int64_t total_pool = 0;
  std::optional<std::string> yes_percent;  // The seed's ROUND(..., 1); none for an empty pool.
  int64_t total_bets = 0;                  // CONFIRMED bets, as the seed counts them.
  int64_t unique_wallets = 0;
  Freshness freshness;
};

struct HistoryRow {
  std::string choice;
  int64_t amount = 0;
  std::string status;
  std::optional<std::string> tx_hash;
  TimeMicros created_at = 0;
  std::string question;
  std::string market_status;
};

struct WalletHistoryReport {
  std::string wallet;
  std::vector<HistoryRow> bets;  // Newest first, as the seed orders them.
  Freshness freshness;
};

// "0x" + 40 hex digits, lowercased as the log stores wallets; nullopt when it is not one.
std::optional<std::string> NormalizeWallet(std::string_view text);

// nullopt when the Market table has no such market.
absl::StatusOr<std::optional<MarketStatsReport>> QueryMarketStats(pg::SqlSession* session,
                                                                  const std::string& market_id);
// `wallet` as stored: lowercase (NormalizeWallet).
absl::StatusOr<WalletHistoryReport> QueryWalletHistory(pg::SqlSession* session,
                                                       const std::string& wallet);

}  // namespace ledger

#endif  // LEDGER_PROJECTIONS_REPORTS_H_
