// Connection: one libpqxx connection and the transaction open on it, shared by the stores of one
// Database (database.h). Internal to engine/pg: it names libpqxx types. Not thread-safe.
#ifndef LEDGER_ENGINE_PG_CONNECTION_H_
#define LEDGER_ENGINE_PG_CONNECTION_H_

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/pg/copy_text.h"
#include "engine/pg/standby.h"

namespace ledger::pg {

// Sets a flag when a notification arrives on its channel.
class NoticeListener : public pqxx::notification_receiver {
 public:
  NoticeListener(pqxx::connection_base& conn, const char* channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string&, int) override { notified = true; }
  bool notified = false;
};

// A row of a pqxx::result as Fields.
class ResultFields : public Fields {
 public:
  explicit ResultFields(const pqxx::row& row) : row_(row) {}
  bool null(int column) const override { return row_[column].is_null(); }
  std::string_view text(int column) const override {
    return std::string_view(row_[column].c_str(), row_[column].size());
  }

 private:
  const pqxx::row& row_;
};

struct Connection {
  // Connects; throws what libpqxx throws.
  explicit Connection(const std::string& conn_string);

  // Drops the connection (rolling back the open transaction) and opens a new one to the same
  // server. On failure the old, broken connection stays.
  absl::Status Reconnect();

  // The open transaction, beginning one when there is none.
  pqxx::work& Begin();
  // COMMIT. kUnknown when the connection dropped during COMMIT.
  absl::Status Commit();
  // ROLLBACK, if a transaction is open. Never fails.
  void Abort();
  // kFailedPrecondition naming `what` when a transaction is open (or, with `inside`, when none is).
  absl::Status Require(bool inside, std::string_view what) const;

  // TranslateException, plus what only the connection knows: an error after which the connection
  // is closed is an outage (kUnavailable), and an outage while committing leaves the outcome
  // unknown (kUnknown), so that callers retry (engine/retry.h) and resolve through the identities.
  absl::Status Error(const std::exception& e, std::string_view context, bool committing = false);

  // Runs `COPY <query> TO STDOUT` in `tx` and hands each line (with its newline) to `on_line`. When
  // `on_line` fails, the server is told to stop sending and the rest is drained unread (the COPY
  // then ends with an error and `tx` is left to be rolled back): returns that failure. Throws what
  // libpqxx throws otherwise.
  absl::Status CopyOut(pqxx::transaction_base& tx, const std::string& query,
                       const std::function<absl::Status(const std::string&)>& on_line);

  // Runs `read(tx)` inside the open transaction, or in a read-only one of its own.
  absl::Status InReadTransaction(const std::function<absl::Status(pqxx::transaction_base&)>& read);

  // Waits up to `timeout_ms` for a notification on `channel` (LISTENing on first use); whether one
  // came. On a hot standby, which cannot LISTEN (notifications are not replicated), it only
  // sleeps, at most kStandbyPollMs, and returns false: the caller polls the log after a wait.
  absl::StatusOr<bool> Wait(std::unique_ptr<NoticeListener>& listener, const char* channel,
                            int timeout_ms);

  std::string conn_string;  // Kept to reconnect; never printed (masked_conn is).
  std::string masked_conn;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::work> tx;  // The open transaction, if any.
  bool projection_locked = false;  // The projection lock is held by `tx`.
  bool standby = false;            // The server was in recovery when this connected.
  std::unique_ptr<NoticeListener> append_listener;
  std::unique_ptr<NoticeListener> projection_listener;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_CONNECTION_H_
