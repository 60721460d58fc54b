#include "engine/pg/sql_session.h"

#include <pqxx/pqxx>

#include "engine/conn_string.h"
#include "engine/pg/pg_errors.h"
#include "engine/str_cat.h"

namespace ledger::pg {

struct SqlSession::Impl {
  explicit Impl(const std::string& conn_string) : conn(conn_string) {}
  pqxx::connection conn;
};

SqlSession::SqlSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqlSession::~SqlSession() = default;

absl::StatusOr<std::unique_ptr<SqlSession>> SqlSession::Open(const std::string& conn_string) {
  try {
    return std::unique_ptr<SqlSession>(new SqlSession(std::make_unique<Impl>(conn_string)));
  } catch (const std::exception& e) {
    return TranslateException(e, StrCat("connect to ", MaskPassword(conn_string)));
  }
}

absl::StatusOr<std::vector<SqlRow>> SqlSession::Query(const std::string& sql,
                                                      const std::vector<std::string>& params) {
  try {
    pqxx::nontransaction tx(impl_->conn);
    pqxx::result result;
    if (params.empty()) {
      result = tx.exec(sql);
    } else {
      result = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    }
    std::vector<SqlRow> rows;
    for (const pqxx::row& r : result) {
      SqlRow row;
      for (const pqxx::field& f : r) {
        row.push_back(f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  } catch (const std::exception& e) {
    return TranslateException(e, "query");
  }
}

absl::Status SqlSession::Exec(const std::string& sql, const std::vector<std::string>& params) {
  return Query(sql, params).status();
}

absl::StatusOr<std::string> SqlSession::Scalar(const std::string& sql,
                                               const std::vector<std::string>& params) {
  absl::StatusOr<std::vector<SqlRow>> rows = Query(sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1 || (*rows)[0].size() != 1) {
    return absl::FailedPreconditionError(StrCat("expected one value from: ", sql));
  }
  return (*rows)[0][0].value_or("NULL");
}

}  // namespace ledger::pg
