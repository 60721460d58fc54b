#include "engine/pg/feed_position_store.h"

#include <pqxx/pqxx>

#include "engine/pg/connection.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger::pg {

absl::StatusOr<int64_t> FeedPositionStore::Read(const std::string& kind, const std::string& name) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(false, "reading a feed position"));
  try {
    pqxx::read_transaction tx(*conn_->conn);
    pqxx::result r =
        tx.exec_params("SELECT seq FROM feed_position WHERE kind = $1 AND name = $2", kind, name);
    return r.empty() ? int64_t{0} : r[0][0].as<int64_t>();
  } catch (const std::exception& e) {
    return conn_->Error(e, StrCat("read the position of ", kind, " ", name));
  }
}

absl::Status FeedPositionStore::Set(const std::string& kind, const std::string& name, int64_t seq,
                                    bool rewind) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(false, "storing a feed position"));
  try {
    pqxx::work tx(*conn_->conn);
    tx.exec_params(rewind ? "INSERT INTO feed_position (kind, name, seq) VALUES ($1, $2, $3) "
                            "ON CONFLICT (kind, name) DO UPDATE SET seq = EXCLUDED.seq, "
                            "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC'"
                          : "INSERT INTO feed_position (kind, name, seq) VALUES ($1, $2, $3) "
                            "ON CONFLICT (kind, name) DO UPDATE SET "
                            "seq = GREATEST(feed_position.seq, EXCLUDED.seq), "
                            "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC'",
                   kind, name, seq);
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, StrCat("store the position of ", kind, " ", name));
  }
}

}  // namespace ledger::pg
