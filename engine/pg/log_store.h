// LogStore: the event log in PostgreSQL (`BetHistory`), behind the one PostgreSQL boundary.
//
// Writers append in batches. A batch is one transaction that first takes the log's advisory lock, so
// appenders never interleave inside the hash chain and commit order equals position order: a reader that
// has seen position N has seen every position below N. The lock is released by COMMIT or ROLLBACK.
//
//   ASSIGN_OR_RETURN(TimeMicros now, store.BeginAppend());
//   RETURN_IF_ERROR(store.Scan(seen_seq, ...));   // rows other writers committed meanwhile
//   RETURN_IF_ERROR(store.Write(rows));
//   RETURN_IF_ERROR(store.CommitAppend());
//
// One LogStore owns one connection; not thread-safe.
#ifndef LEDGER_ENGINE_PG_LOG_STORE_H_
#define LEDGER_ENGINE_PG_LOG_STORE_H_

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/pg/migrations.h"

namespace ledger::pg {

// Rows fetched per round trip when scanning the log: large enough to amortize the round trip, small
// enough (~10 MB) to keep a scan's memory flat.
inline constexpr int64_t kScanPageRows = 20000;

class LogStore {
 public:
  // Connects to `conn_string` (URI or key=value). kUnavailable when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<LogStore>> Open(const std::string& conn_string);
  ~LogStore();

  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // Applies the migrations compiled into this binary.
  absl::Status Migrate(MigrateReport* report);

  // Calls `fn` for every row with after_seq < seq, in position order, until `fn` fails. Reads inside the
  // open append transaction when there is one.
  absl::Status Scan(int64_t after_seq, const std::function<absl::Status(const LoggedEvent&)>& fn);

  // The row at `seq`; kNotFound when there is none.
  absl::StatusOr<LoggedEvent> Read(int64_t seq);

  // The last position and its hash (0 and the genesis hash for an empty log).
  absl::StatusOr<std::pair<int64_t, Sha256>> Head();

  // Starts a batch: BEGIN, take the log lock, and return the server's clock (UTC) for recordedAt.
  absl::StatusOr<TimeMicros> BeginAppend();
  // Writes rows with COPY inside the batch. REQUIRES: BeginAppend() succeeded.
  absl::Status Write(std::span<const LoggedEvent> rows);
  // COMMIT. kUnknown when the connection dropped during COMMIT: the caller must not guess.
  absl::Status CommitAppend();
  // ROLLBACK, if a batch is open. Never fails.
  void AbortAppend();

 private:
  struct Impl;
  explicit LogStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_LOG_STORE_H_
