#include "engine/pg/connection.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/conn_string.h"
#include "engine/pg/pg_errors.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger::pg {
namespace {

std::unique_ptr<pqxx::connection> Connect(const std::string& conn_string) {
  auto conn = std::make_unique<pqxx::connection>(conn_string);
  conn->set_client_encoding("UTF8");
  return conn;
}

// Whether the server is a hot standby (in recovery); throws what libpqxx throws.
bool InRecovery(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>();
}

}  // namespace

Connection::Connection(const std::string& conn_string)
    : conn_string(conn_string),
      masked_conn(MaskPassword(conn_string)),
      conn(Connect(conn_string)),
      standby(InRecovery(*conn)) {}

absl::Status Connection::Reconnect() {
  Abort();
  try {
    std::unique_ptr<pqxx::connection> fresh = Connect(conn_string);
    const bool fresh_standby = InRecovery(*fresh);
    // Listeners belong to the old connection: drop them before it goes.
    append_listener.reset();
    projection_listener.reset();
    conn = std::move(fresh);
    standby = fresh_standby;  // A standby promoted meanwhile is a primary now.
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return TranslateException(e, StrCat("reconnect to ", masked_conn));
  }
}

pqxx::work& Connection::Begin() {
  if (!tx) tx = std::make_unique<pqxx::work>(*conn);
  return *tx;
}

absl::Status Connection::Commit() {
  if (!tx) return absl::FailedPreconditionError("Commit outside a transaction");
  projection_locked = false;
  try {
    tx->commit();
    tx.reset();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    tx.reset();
    return Error(e, "commit", /*committing=*/true);
  }
}

void Connection::Abort() {
  if (!tx) return;
  projection_locked = false;
  try {
    tx->abort();
  } catch (const std::exception&) {
    // The connection is gone; the server rolls the transaction back on its own.
  }
  tx.reset();
}

absl::Status Connection::Require(bool inside, std::string_view what) const {
  if (inside == (tx != nullptr)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      StrCat(what, inside ? " outside a transaction" : " inside a transaction"));
}

absl::Status Connection::Error(const std::exception& e, std::string_view context, bool committing) {
  absl::Status status = TranslateException(e, context);
  if (!absl::IsUnavailable(status) && !absl::IsUnknown(status) && !conn->is_open()) {
    status = absl::UnavailableError(StrCat(status.message(), " (connection lost)"));
  }
  if (committing && absl::IsUnavailable(status)) {
    return absl::UnknownError(StrCat(status.message(), ": commit outcome unknown"));
  }
  return status;
}

absl::Status Connection::CopyOut(pqxx::transaction_base& copy_tx, const std::string& query,
                                 const std::function<absl::Status(const std::string&)>& on_line) {
  pqxx::stream_from copy(copy_tx, query);
  std::string line;
  while (copy.get_raw_line(line)) {
    if (absl::Status status = on_line(line); !status.ok()) {
      conn->cancel_query();
      try {
        while (copy.get_raw_line(line)) {
        }
      } catch (const std::exception&) {
        // The cancelled COPY's own error.
      }
      return status;
    }
  }
  copy.complete();
  return absl::OkStatus();
}

absl::Status Connection::InReadTransaction(
    const std::function<absl::Status(pqxx::transaction_base&)>& read) {
  if (tx) return read(*tx);
  pqxx::read_transaction own(*conn);
  return read(own);
}

absl::StatusOr<bool> Connection::Wait(std::unique_ptr<NoticeListener>& listener,
                                      const char* channel, int timeout_ms) {
  LEDGER_RETURN_IF_ERROR(Require(false, "waiting for notifications"));
  if (standby) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, kStandbyPollMs)));
    return false;
  }
  try {
    if (!listener) listener = std::make_unique<NoticeListener>(*conn, channel);
    listener->notified = false;
    conn->get_notifs();
    if (!listener->notified) {
      conn->await_notification(timeout_ms / 1000, (timeout_ms % 1000) * 1000L);
    }
    return listener->notified;
  } catch (const std::exception& e) {
    listener.reset();
    return Error(e, StrCat("wait for notifications on ", channel));
  }
}

}  // namespace ledger::pg
