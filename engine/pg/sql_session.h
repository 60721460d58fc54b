// SqlSession: a plain SQL connection for administration and tests (create a database, inspect or
// tamper with tables), returning rows as text. Queries take parameters ($1, $2, ...) as text; no
// SQL is built from input. Not for the hot paths, which use LogStore.
#ifndef LEDGER_ENGINE_PG_SQL_SESSION_H_
#define LEDGER_ENGINE_PG_SQL_SESSION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ledger::pg {

using SqlRow = std::vector<std::optional<std::string>>;

class SqlSession {
 public:
  static absl::StatusOr<std::unique_ptr<SqlSession>> Open(const std::string& conn_string);
  ~SqlSession();

  // Runs `sql` in its own transaction (autocommit) and returns its rows.
  absl::StatusOr<std::vector<SqlRow>> Query(const std::string& sql,
                                            const std::vector<std::string>& params = {});
  // Runs `sql` and expects no error; convenience for statements.
  absl::Status Exec(const std::string& sql, const std::vector<std::string>& params = {});
  // The single value of a one-row, one-column query.
  absl::StatusOr<std::string> Scalar(const std::string& sql,
                                     const std::vector<std::string>& params = {});

 private:
  struct Impl;
  explicit SqlSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_SQL_SESSION_H_
