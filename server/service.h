// Service: `ledger serve`, the online ledger. It ties together the HTTP server (http_server.h), the
// one writer with group commit (writer.h), a few reader connections for reads the fold cannot
// answer (rows, a stream's positions, a wallet's bets), the in-process projections (the same code
// as `ledger project --follow`) and the routes of docs/api.md.
//
//   ServiceOptions options;  options.conn = "..."; options.port = 8080;
//   RETURN_IF_ERROR(RunService(options, stop));   // until `stop` (SIGTERM) becomes true
//
// Start-up folds the committed log before it listens; `ready` is printed on stdout then, as JSON,
// with the port (port 0 picks one).
#ifndef LEDGER_SERVER_SERVICE_H_
#define LEDGER_SERVER_SERVICE_H_

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/feed_hub.h"
#include "server/http_server.h"
#include "server/tokens.h"
#include "server/writer.h"

namespace ledger::server {

// Threads running the sockets: reads take a shared lock on the fold or one indexed query, so two
// threads keep a 2-core machine busy while the writer commits.
inline constexpr int kIoThreadsDefault = 2;
// `--io-threads` at most: more threads than cores only add hand-offs.
inline constexpr int kIoThreadsMax = 64;
// Connections for reads the fold cannot answer; each read holds one for one indexed query.
inline constexpr int kReaderConnections = 4;
// Rows a list route returns when the client names no limit, and at most.
inline constexpr int64_t kPageLimitDefault = 100;
inline constexpr int64_t kPageLimitMax = 1000;
// How long a client turned away (not ready, queue full) is told to wait.
inline constexpr int kRetryAfterSeconds = 1;
// SIGTERM: how long answered requests get to be written before the process exits.
inline constexpr int kDrainMsMax = 5000;

struct ServiceOptions {
  std::string conn;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::optional<TokenTable> tokens;  // None: open to every caller, so loopback only.
  std::string cors_origin;           // Empty: no CORS headers.
  // PEM files; both set: HTTPS only (docs/api.md "TLS"); both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  HttpLimits http;
  size_t request_events_max = kRequestEventsMaxDefault;
  size_t queue_events_max = kQueueEventsMaxDefault;
  int io_threads = kIoThreadsDefault;
  bool project = true;  // Keep the four projections current in-process.
  // Take no events (POST /v1/events is 405 READ_ONLY) and write nothing: follow the log for the
  // reads, on a hot standby or beside the primary's service. Implies no projections (a standby has
  // the primary's) and no fold snapshots.
  bool read_only = false;
  bool use_snapshot = true;  // Start from the newest fold snapshot (engine/fold_snapshot.h).
  // Local copies of fold snapshots, for the writer and the projections (engine/snapshot_cache.h);
  // empty: none.
  std::string snapshot_cache_dir;
  size_t feed_buffer_bytes = kFeedBufferBytesDefault;
  int feed_heartbeat_ms = kFeedHeartbeatMsDefault;
};

// Every route as "METHOD /path/*/segments" ("*": one path parameter), for the test that holds
// docs/openapi.yaml to the server.
std::vector<std::string> RouteSignatures();

// Whether `host` is a loopback address (the only place a service without tokens may listen).
bool IsLoopback(const std::string& host);

// Runs the service until `stop` becomes true, then stops accepting, answers what is queued and in
// flight, and returns OK. An error when it cannot start.
absl::Status RunService(const ServiceOptions& options, const std::atomic<bool>& stop);

}  // namespace ledger::server

#endif  // LEDGER_SERVER_SERVICE_H_
