// `ledger serve`: starts the online service (server/service.h). The command only turns flags into
// ServiceOptions; everything else lives in server/.
#include <iostream>

#include "absl/strings/numbers.h"
#include "cli/command.h"
#include "cli/common.h"
#include "server/service.h"

namespace ledger::cli {
namespace {

// HOST:PORT, the port 0..65535 (0: any free one, printed when ready).
bool ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &value) || value > 65535) return false;
  *host = text.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

int RunServe(const Args& args) {
  server::ServiceOptions options;
  const std::string listen = args.Flag("listen", "127.0.0.1:8080");
  if (!ParseListen(listen, &options.host, &options.port)) {
    std::cerr << "ledger serve: --listen must be HOST:PORT, not \"" << listen << "\"\n";
    return kExitError;
  }
  if (args.Has("tokens")) {
    absl::StatusOr<server::TokenTable> tokens = server::TokenTable::Load(args.Flag("tokens"));
    if (!tokens.ok()) return Fail(tokens.status());
    options.tokens = *std::move(tokens);
  }
  options.cors_origin = args.Flag("cors-origin");
  if (args.Has("tls-cert") != args.Has("tls-key")) {
    std::cerr << "ledger serve: --tls-cert and --tls-key go together (PEM files: the certificate "
                 "chain and its private key)\n";
    return kExitError;
  }
  options.tls_cert_file = args.Flag("tls-cert");
  options.tls_key_file = args.Flag("tls-key");
  options.http.body_bytes_max =
      static_cast<size_t>(args.Integer("body-bytes-max", server::kBodyBytesMaxDefault));
  options.http.connections_max =
      static_cast<int>(args.Integer("connections-max", server::kConnectionsMaxDefault));
  options.http.header_timeout_ms =
      static_cast<int>(args.Integer("header-timeout-ms", server::kHeaderTimeoutMsDefault));
  options.http.body_timeout_ms =
      static_cast<int>(args.Integer("body-timeout-ms", server::kBodyTimeoutMsDefault));
  options.request_events_max =
      static_cast<size_t>(args.Integer("request-events-max", server::kRequestEventsMaxDefault));
  options.queue_events_max =
      static_cast<size_t>(args.Integer("queue-events-max", server::kQueueEventsMaxDefault));
  options.project = !args.Has("no-projections");
  options.read_only = args.Has("read-only");
  options.io_threads = static_cast<int>(args.Integer("io-threads", server::kIoThreadsDefault));
  options.use_snapshot = !args.Has("no-snapshot");
  options.feed_buffer_bytes =
      static_cast<size_t>(args.Integer("feed-buffer-bytes", server::kFeedBufferBytesDefault));
  options.feed_heartbeat_ms =
      static_cast<int>(args.Integer("feed-heartbeat-ms", server::kFeedHeartbeatMsDefault));
  bool embedded = false;  // OpenStore below migrates it.
  absl::StatusOr<std::string> conn = ResolveDatabase(args, &embedded);
  if (!conn.ok()) return Fail(conn.status());
  // Migrates the embedded cluster; refuses a standby unless --read-only.
  if (absl::StatusOr<std::unique_ptr<pg::Database>> checked = OpenStore(args); !checked.ok()) {
    return Fail(checked.status());
  }
  options.conn = *conn;
  options.snapshot_cache_dir = SnapshotCacheDir(embedded);
  absl::Status status = server::RunService(options, StopOnSignals());
  return status.ok() ? kExitOk : Fail(status);
}

}  // namespace

std::vector<Command> ServeCommands() {
  return {
      {"serve",
       "serve [--listen HOST:PORT] [--tokens FILE] [--tls-cert FILE --tls-key FILE]\n"
       "           [--cors-origin ORIGIN] [--no-projections] [--no-snapshot] [--read-only]",
       "the online ledger: HTTP/1.1 API (docs/api.md) with group commit, reads from the fold,\n"
       "the projections kept current; starts from the newest fold snapshot unless --no-snapshot;\n"
       "SIGTERM answers what is queued, saves a fold snapshot when due and exits 0; --read-only\n"
       "takes no events and writes nothing, following the log (on a hot standby, say)",
       {kDbFlag, Text("listen", "HOST:PORT"), InputFile("tokens"), InputFile("tls-cert"),
        InputFile("tls-key"), Text("cors-origin", "ORIGIN"), Switch("no-projections"),
        Switch("no-snapshot"), Switch("read-only"),
        Integer("body-bytes-max", "BYTES", 1024, 64 << 20),
        Integer("request-events-max", "N", 1, static_cast<int64_t>(server::kGroupCommitEventsMax)),
        Integer("queue-events-max", "N", 1, 1000000), Integer("connections-max", "N", 1, 100000),
        Integer("header-timeout-ms", "MS", 100, 600000),
        Integer("body-timeout-ms", "MS", 100, 600000),
        Integer("feed-buffer-bytes", "BYTES", 4096, 1 << 30),
        Integer("feed-heartbeat-ms", "MS", 50, 600000),
        Integer("io-threads", "N", 1, server::kIoThreadsMax)},
       0,
       RunServe,
       {DatabaseUse::kWritesUnless, "read-only"}},
  };
}

}  // namespace ledger::cli
