// TableRows: rows for one table as text columns, the shape in which projections hand their rows to the
// PostgreSQL boundary (COPY text format; nullopt is NULL). Table and column names are the code's own
// constants, never input.
#ifndef LEDGER_ENGINE_PG_TABLE_ROWS_H_
#define LEDGER_ENGINE_PG_TABLE_ROWS_H_

#include <optional>
#include <string>
#include <vector>

namespace ledger::pg {

struct TableRows {
  std::string table;                 // Unquoted name, e.g. Bet.
  std::vector<std::string> columns;  // Unquoted names; the first is the primary key.
  std::vector<std::vector<std::optional<std::string>>> rows;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_TABLE_ROWS_H_
