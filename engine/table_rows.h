// TableRows: rows for one table as text columns (nullopt is NULL): what the projector produces and
// the projection store (engine/pg/projection_store.h) writes. No I/O here. Table and column names
// are the code's own constants, never input.
#ifndef LEDGER_ENGINE_TABLE_ROWS_H_
#define LEDGER_ENGINE_TABLE_ROWS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ledger {

struct TableRows {
  std::string table;                 // Unquoted name, e.g. Bet.
  std::vector<std::string> columns;  // Unquoted names; the first is the primary key.
  std::vector<std::vector<std::optional<std::string>>> rows;
};

using Row = std::vector<std::optional<std::string>>;
using RowSink = std::function<void(const Row&)>;

// A table whose rows are produced on demand (streamed into COPY), so that writing a large table
// never holds all of its rows in memory at once.
struct TableSource {
  std::string table;
  std::vector<std::string> columns;
  std::function<void(const RowSink&)> produce;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_TABLE_ROWS_H_
