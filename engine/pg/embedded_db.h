// EmbeddedDb: a private PostgreSQL 15 cluster under $LEDGER_HOME/pg (default ./.ledger/pg), used
// when no --db URL or DATABASE_URL is given, and by the tests (one throwaway cluster per test run).
//
// Layout: pg/data (the cluster), pg/run (its unix socket; no TCP listener), pg/server.log.
// The server listens only on the socket; local connections use trust authentication, so access is
// controlled by the socket directory's permissions (0700, owned by the server's user).
// As root, the server runs as the unprivileged `postgres` user (PostgreSQL refuses to run as root).
//
// Start() is idempotent and safe to call from several processes at once (a lock file serializes
// them).
#ifndef LEDGER_ENGINE_PG_EMBEDDED_DB_H_
#define LEDGER_ENGINE_PG_EMBEDDED_DB_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ledger::pg {

// Where Debian's postgresql-15 installs its server binaries; $LEDGER_PG_BIN overrides.
inline constexpr char kDefaultPgBinDir[] = "/usr/lib/postgresql/15/bin";
inline constexpr char kEmbeddedDbName[] = "ledger";
inline constexpr char kEmbeddedUser[] = "ledger";
// Seconds pg_ctl waits for the server to start or stop.
inline constexpr int kPgCtlWaitSeconds = 60;

class EmbeddedDb {
 public:
  // `home` is $LEDGER_HOME or ./.ledger; made absolute.
  explicit EmbeddedDb(std::string home);

  // The home from the environment: $LEDGER_HOME, else ./.ledger.
  static std::string DefaultHome();

  // Creates the cluster if missing, starts it if stopped, creates the `ledger` database if missing.
  absl::Status Start();
  enum class StopMode {
    kFast,       // Roll back open transactions, close connections, checkpoint.
    kImmediate,  // Kill the server at once, as a crash or power loss would; recovery on the next
                 // start.
  };
  // Stops the server. OK when it was not running.
  absl::Status Stop(StopMode mode = StopMode::kFast);
  // Whether the server is running.
  absl::StatusOr<bool> IsRunning() const;

  // Makes this home a hot standby of `primary` (a running embedded cluster): pg_basebackup -R
  // copies it (streaming its WAL; primary_conninfo and standby.signal written), and the copy
  // listens on this home's socket. Start() then starts it like any embedded cluster; it replays
  // what the primary commits and refuses writes. kAlreadyExists when this home has a cluster.
  // (Tests and benchmarks; docs/deployment.md shows the same for a real server.)
  absl::Status CreateStandbyOf(const EmbeddedDb& primary);
  // pg_ctl promote: a standby stops replaying and becomes a primary that takes writes; returns
  // once it does.
  absl::Status Promote();

  // libpq key=value connection string for the `ledger` database (or `database`).
  std::string ConnectionString() const { return ConnectionString(kEmbeddedDbName); }
  std::string ConnectionString(std::string_view database) const;
  // The same as a postgresql:// URI.
  std::string Url() const;

  const std::string& home() const { return home_; }
  // The directory of the server's unix socket (for a pooler in front of it, or psql -h).
  std::string SocketDir() const;

 private:
  std::string DataDir() const;
  // Creates home/pg/run (0700) owned by the server user; checks the socket path's length.
  absl::Status PrepareHome() const;
  // Whether a connection to the ledger database succeeds now: the cluster is up and set up, which
  // one connection tells where `pg_ctl status` (through runuser, as root) costs ~50 ms a command.
  bool IsServingDatabase() const;
  absl::Status InitCluster() const;
  absl::Status CreateDatabase() const;

  std::string home_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_EMBEDDED_DB_H_
