// The `BetHistory` row format: one table of the log's columns (schema/001 and 002) from which the
// SELECT list, the COPY column list, the row parser and the COPY encoder are all derived, so that
// the four cannot disagree. No libpqxx here. Pure functions; thread-safe.
//
//   CopyLineFields fields;
//   if (fields.Parse(line, kLogColumns.size())) { ASSIGN_OR_RETURN(LoggedEvent row,
//   ParseLogRow(fields)); } EncodeLogRow(row, &line);  // One COPY text line, for LogStore::Write.
#ifndef LEDGER_ENGINE_PG_LOG_ROW_H_
#define LEDGER_ENGINE_PG_LOG_ROW_H_

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/pg/copy_text.h"

namespace ledger::pg {

struct LogColumn {
  std::string_view name;   // Unquoted, as in the schema.
  bool timestamp = false;  // An integer field held as TimeMicros, stored as `timestamp`.
};

// Every column of BetHistory, in the order the engine reads and writes them (COPY and SELECT name
// the columns, so the table's own order, the seed's columns first, does not matter). The pg test
// `append/the_log_row_table_matches_the_schema` compares it with the database's catalog.
inline constexpr std::array<LogColumn, 28> kLogColumns = {{
    {"seq"},
    {"id"},
    {"identityKey"},
    {"streamId"},
    {"streamVersion"},
    {"recordedAt", true},
    {"eventId"},
    {"action"},
    {"createdAt", true},
    {"betId"},
    {"marketId"},
    {"wallet"},
    {"choice"},
    {"amount"},
    {"betNumber"},
    {"txHash"},
    {"reason"},
    {"severity"},
    {"clawbackAmount"},
    {"clawbackTxHash"},
    {"winner"},
    {"question"},
    {"startDate", true},
    {"endDate", true},
    {"contractAddress"},
    {"gnosisSafeAddress"},
    {"prevHash"},
    {"hash"},
}};

// The fields of a row, one per entry of kLogColumns and in the same order. `Row` is LoggedEvent or
// const LoggedEvent.
template <typename Row>
constexpr auto LogRowFields(Row& r) {
  auto& e = r.event;
  return std::tie(r.seq, r.id, r.identity_key, r.stream_id, r.stream_version, r.recorded_at,
                  e.event_id, e.action, e.created_at, e.bet_id, e.market_id, e.wallet, e.choice,
                  e.amount, e.bet_number, e.tx_hash, e.reason, e.severity, e.clawback_amount,
                  e.clawback_tx_hash, e.winner, e.question, e.start_date, e.end_date,
                  e.contract_address, e.gnosis_safe_address, r.prev_hash, r.hash);
}
static_assert(std::tuple_size_v<decltype(LogRowFields(std::declval<LoggedEvent&>()))> ==
                  kLogColumns.size(),
              "every column of BetHistory has exactly one field of LoggedEvent");

// seq, "identityKey", ...: the columns quoted, for SELECT.
const std::string& LogSelectList();
// The same names quoted one by one, for COPY ... FROM.
const std::vector<std::string>& LogCopyColumns();

// A row read back. kDataLoss naming the position, the column and the value when a field cannot be
// what the engine writes (a NULL in a required column, an unknown enum name, a bad hash).
absl::StatusOr<LoggedEvent> ParseLogRow(const Fields& fields);

// `row` as one COPY text line (no newline), replacing `line`'s contents.
void EncodeLogRow(const LoggedEvent& row, std::string* line);
// `rows` as a JSON array of objects, one member per column (name: the value's text, or null),
// replacing `out`'s contents: the parameter of ledger_append_rows (schema/007).
void EncodeLogRowsJson(std::span<const LoggedEvent> rows, std::string* out);
// `text` as a JSON string (quoted, `"`, `\` and control characters escaped), appended to `out`.
// REQUIRES: `text` is valid UTF-8.
void PutJsonString(std::string_view text, std::string* out);

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_LOG_ROW_H_
