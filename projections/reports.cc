#include "projections/reports.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

constexpr size_t kWalletHexDigits = 40;

// The seed's "Get Market with Statistics", its literal market id as $1.
constexpr char kMarketStatsSql[] = R"sql(
SELECT
    m."marketId",
    m.question,
    m.status,
    m."yesPool",
    m."noPool",
    (m."yesPool" + m."noPool") as "totalPool",
    ROUND(100.0 * m."yesPool" / NULLIF(m."yesPool" + m."noPool", 0), 1) as "yesPercent",
    COUNT(b.id) as "totalBets",
    COUNT(DISTINCT b."walletAddress") as "uniqueWallets"
FROM "Market" m
LEFT JOIN "Bet" b ON m."marketId" = b."marketId" AND b.status = 'CONFIRMED'
WHERE m."marketId" = $1
GROUP BY m.id)sql";

// The seed's "Get User Bet History", its literal wallet as $1.
constexpr char kWalletHistorySql[] = R"sql(
SELECT
    b.choice,
    b.amount,
    b.status,
    b."txHash",
    b."createdAt",
    m.question,
    m.status as "marketStatus"
FROM "Bet" b
JOIN "Market" m ON b."marketId" = m."marketId"
WHERE b."walletAddress" = $1
ORDER BY b."createdAt" DESC)sql";

constexpr char kFreshnessSql[] =
    "SELECT (SELECT COALESCE(max(seq), 0) FROM projection_checkpoint WHERE projection = $1), "
    "(SELECT COALESCE(max(seq), 0) FROM \"BetHistory\")";

absl::StatusOr<int64_t> Int(const std::optional<std::string>& text, const char* column) {
  int64_t value = 0;
  if (!text || !absl::SimpleAtoi(*text, &value)) {
    return absl::DataLossError(
        StrCat("column ", column, " is not an integer: ", text.value_or("NULL")));
  }
  return value;
}

absl::StatusOr<Freshness> ReadFreshness(pg::SqlSession* session, const std::string& projection) {
  LEDGER_ASSIGN_OR_RETURN(std::vector<pg::SqlRow> rows,
                          session->Query(kFreshnessSql, {projection}));
  Freshness out;
  LEDGER_ASSIGN_OR_RETURN(out.projected_seq, Int(rows.at(0)[0], "checkpoint"));
  LEDGER_ASSIGN_OR_RETURN(out.log_seq, Int(rows.at(0)[1], "seq"));
  return out;
}

}  // namespace

std::optional<std::string> NormalizeWallet(std::string_view text) {
  if (text.size() != 2 + kWalletHexDigits || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return std::nullopt;
  }
  std::string out = "0x";
  for (char c : text.substr(2)) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

absl::StatusOr<std::optional<MarketStatsReport>> QueryMarketStats(pg::SqlSession* session,
                                                                  const std::string& market_id) {
  LEDGER_ASSIGN_OR_RETURN(std::vector<pg::SqlRow> rows,
                          session->Query(kMarketStatsSql, {market_id}));
  if (rows.empty()) return std::optional<MarketStatsReport>();
  const pg::SqlRow& row = rows.front();
  MarketStatsReport r;
  r.market_id = row[0].value_or("");
  r.question = row[1].value_or("");
  r.status = row[2].value_or("");
  LEDGER_ASSIGN_OR_RETURN(r.yes_pool, Int(row[3], "yesPool"));
  LEDGER_ASSIGN_OR_RETURN(r.no_pool, Int(row[4], "noPool"));
  LEDGER_ASSIGN_OR_RETURN(r.total_pool, Int(row[5], "totalPool"));
  r.yes_percent = row[6];
  LEDGER_ASSIGN_OR_RETURN(r.total_bets, Int(row[7], "totalBets"));
  LEDGER_ASSIGN_OR_RETURN(r.unique_wallets, Int(row[8], "uniqueWallets"));
  LEDGER_ASSIGN_OR_RETURN(r.freshness, ReadFreshness(session, "market"));
  return std::optional<MarketStatsReport>(std::move(r));
}

absl::StatusOr<WalletHistoryReport> QueryWalletHistory(pg::SqlSession* session,
                                                       const std::string& wallet) {
  LEDGER_ASSIGN_OR_RETURN(std::vector<pg::SqlRow> rows,
                          session->Query(kWalletHistorySql, {wallet}));
  WalletHistoryReport report;
  report.wallet = wallet;
  for (const pg::SqlRow& row : rows) {
    HistoryRow h;
    h.choice = row[0].value_or("");
    LEDGER_ASSIGN_OR_RETURN(h.amount, Int(row[1], "amount"));
    h.status = row[2].value_or("");
    h.tx_hash = row[3];
    std::optional<TimeMicros> created = ParsePgTimestamp(row[4].value_or(""));
    if (!created) return absl::DataLossError(StrCat("Bet.createdAt is not a timestamp: ", *row[4]));
    h.created_at = *created;
    h.question = row[5].value_or("");
    h.market_status = row[6].value_or("");
    report.bets.push_back(std::move(h));
  }
  LEDGER_ASSIGN_OR_RETURN(report.freshness, ReadFreshness(session, "bet"));
  return report;
}

}  // namespace ledger
