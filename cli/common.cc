#include "cli/common.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "engine/conn_string.h"
#include "engine/hash_chain.h"
#include "engine/money.h"
#include "engine/pg/embedded_db.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "engine/utf8.h"

namespace ledger::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnStopSignal(int) { g_stop = true; }

// What the reading command saw of the standby it ran on (nullopt on a primary).
std::optional<pg::StandbyStatus> g_standby;

std::string StandbyRefusal(const Args& args, const std::string& conn,
                           const pg::StandbyStatus& standby) {
  const std::string name = args.positional.empty() ? "this command" : args.positional[0];
  std::string what = StrCat("`ledger ", name, "` writes to its database");
  if (args.command != nullptr) {
    const std::string flag(args.command->access.flag);
    if (args.command->access.use == DatabaseUse::kWritesWithFlag) {
      what = StrCat("`ledger ", name, " --", flag, "` keeps its position in the database");
    } else if (args.command->access.use == DatabaseUse::kWritesUnless) {
      what = StrCat("`ledger ", name, "` writes to its database (without --", flag, ")");
    }
  }
  const std::string primary =
      standby.primary.empty() ? "the primary" : StrCat("the primary (", standby.primary, ")");
  return StrCat("the database is read-only: ", MaskPassword(conn),
                " is a hot standby (in recovery); ", what, ": run it against ", primary,
                ". Reading commands (verify, replay, audit, digest, feed without --consumer, ...) "
                "run on a standby");
}

void ReportStandby(const pg::StandbyStatus& s) {
  std::string commit = "none since the standby started";
  if (s.replayed_commit_at) {
    commit = absl::StrFormat("%s, %.1f s before the standby's clock",
                             FormatRfc3339(*s.replayed_commit_at),
                             static_cast<double>(s.now - *s.replayed_commit_at) / 1e6);
  }
  std::cerr << "ledger: reading a hot standby: log head seq " << s.head_seq << ", WAL replayed to "
            << s.replay_lsn << " (" << s.replay_lag_bytes
            << " bytes received and not yet replayed); last replayed commit: " << commit
            << ". The primary may be further on\n";
}

// A LogStore on `conn`, migrated when it is the embedded cluster (an explicit database is migrated
// only by `ledger migrate`); refused on a standby when the command writes.
absl::StatusOr<std::unique_ptr<pg::Database>> OpenAt(const Args& args, const std::string& conn,
                                                     bool embedded) {
  absl::StatusOr<std::unique_ptr<pg::Database>> store = pg::Database::Open(conn);
  if (!store.ok()) return store;
  (*store)->snapshots().set_cache_dir(SnapshotCacheDir(embedded));
  LEDGER_RETURN_IF_ERROR(CheckStandby(**store, args, conn));
  if (!embedded) return store;
  pg::MigrateReport report;
  if (absl::Status s = (*store)->Migrate(&report); !s.ok()) return s;
  return store;
}

}  // namespace

absl::Status CheckStandby(pg::Database& db, const Args& args, const std::string& conn) {
  if (!db.is_standby()) return absl::OkStatus();
  absl::StatusOr<std::optional<pg::StandbyStatus>> status = db.ReadStandbyStatus();
  if (!status.ok()) return status.status();
  if (!status->has_value()) return absl::OkStatus();  // Promoted meanwhile.
  if (args.writes) return absl::FailedPreconditionError(StandbyRefusal(args, conn, **status));
  if (!g_standby) ReportStandby(**status);
  g_standby = **status;
  return absl::OkStatus();
}

int Fail(const absl::Status& status) {
  if (IsBrokenChain(status)) {
    std::cerr << "ledger: " << status.message() << "\n";
    std::cerr << "ledger: nothing was derived from the damaged log. docs/runbook-tampering.md says "
                 "what to do; `ledger verify` lists every break; --allow-broken-chain reads it "
                 "anyway, for forensics, with the output marked untrusted\n";
    return kExitFindings;
  }
  std::cerr << "ledger: " << MaskPassword(status.ToString()) << "\n";
  return kExitError;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t bytes_max) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(StrCat("cannot open ", path));
  std::string text(bytes_max + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (file.bad()) return absl::NotFoundError(StrCat("cannot read ", path));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > bytes_max) {
    return absl::InvalidArgumentError(
        StrCat(path, " is longer than ", bytes_max, " bytes: not the file this flag takes"));
  }
  return text;
}

boost::json::value ReportUntrusted(const ChainTrust& trust) {
  if (!trust.first_break) return nullptr;
  const ChainBreak& b = *trust.first_break;
  std::cerr << "ledger: UNTRUSTED: the log's hash chain is broken at seq " << b.seq << " ("
            << b.kind << "); this output was derived from it anyway (--allow-broken-chain)\n";
  return boost::json::object{{"seq", b.seq}, {"kind", b.kind}, {"detail", b.detail}};
}

absl::StatusOr<std::string> ResolveDatabase(const Args& args, bool* embedded) {
  *embedded = false;
  if (std::string db = args.Flag("db"); !db.empty()) return db;
  if (const char* env = std::getenv("DATABASE_URL"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  pg::EmbeddedDb db(pg::EmbeddedDb::DefaultHome());
  if (absl::Status s = db.Start(); !s.ok()) return s;
  *embedded = true;
  return db.ConnectionString();
}

std::string SnapshotCacheDir(bool embedded) {
  std::error_code error;
  if (const char* env = std::getenv("LEDGER_SNAPSHOT_CACHE"); env != nullptr && *env != '\0') {
    if (std::string_view(env) == kSnapshotCacheOff) return "";
    return std::filesystem::absolute(env, error).string();
  }
  if (!embedded) return "";
  return std::filesystem::absolute(pg::EmbeddedDb::DefaultHome(), error) / "snapshot-cache";
}

absl::StatusOr<std::unique_ptr<pg::Database>> OpenStore(const Args& args) {
  bool embedded = false;
  absl::StatusOr<std::string> conn = ResolveDatabase(args, &embedded);
  if (!conn.ok()) return conn.status();
  return OpenAt(args, *conn, embedded);
}

absl::StatusOr<std::unique_ptr<pg::SqlSession>> OpenSqlSession(const Args& args) {
  bool embedded = false;
  absl::StatusOr<std::string> conn = ResolveDatabase(args, &embedded);
  if (!conn.ok()) return conn.status();
  // The store is opened first for the standby check (and the embedded cluster's migration).
  absl::StatusOr<std::unique_ptr<pg::Database>> checked = OpenAt(args, *conn, embedded);
  if (!checked.ok()) return checked.status();
  return pg::SqlSession::Open(*conn);
}

boost::json::value StandbyJson() {
  if (!g_standby) return nullptr;
  const pg::StandbyStatus& s = *g_standby;
  return boost::json::object{
      {"headSeq", s.head_seq},
      {"receiveLsn", s.receive_lsn},
      {"replayLsn", s.replay_lsn},
      {"replayLagBytes", s.replay_lag_bytes},
      {"replayedCommitAt",
       s.replayed_commit_at ? boost::json::value(FormatRfc3339(*s.replayed_commit_at)) : nullptr},
      {"checkedAt", FormatRfc3339(s.now)},
      {"primary", s.primary.empty() ? boost::json::value(nullptr) : boost::json::value(s.primary)}};
}

const std::atomic<bool>& StopOnSignals() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  return g_stop;
}

std::string RejectionJson(int64_t line, const Rejection& rejection, std::string_view text) {
  boost::json::object entry{
      {"line", line}, {"code", ErrorCodeName(rejection.code)}, {"message", rejection.message}};
  if (FirstInvalidUtf8(text)) {
    entry["inputBase64"] = absl::Base64Escape(absl::string_view(text.data(), text.size()));
  } else {
    entry["input"] = text;
  }
  return boost::json::serialize(entry);
}

std::string LineResultText(const LineResult& r) {
  return boost::json::serialize(LineResultJson(r));
}

RetryFlags ParseRetryFlags(const Args& args) {
  RetryFlags flags;
  const std::string text = args.Flag("retries");
  int64_t n = 0;
  if (text == "unlimited") {
    flags.retries_max = kRetriesUnlimited;
  } else if (absl::SimpleAtoi(text, &n)) {  // The parser checked its bounds.
    flags.retries_max = static_cast<int>(n);
  }
  flags.report = [](const RetryNotice& notice) {
    std::cerr << "ledger: " << MaskPassword(DescribeRetry(notice)) << "\n";
  };
  return flags;
}

std::optional<ProjectorOptions> ProjectorFlags(const Args& args) {
  ProjectorOptions options;
  auto duration = [&args](const char* name, TimeMicros* out) {
    std::string text = args.Flag(name);
    if (text.empty()) return true;
    std::optional<TimeMicros> value = ParseDuration(text);
    if (!value) {
      std::cerr << "ledger: --" << name << " must be like 300s, 5m, 1h or 30d, got " << text
                << "\n";
      return false;
    }
    *out = *value;
    return true;
  };
  if (!duration("snapshot-interval", &options.snapshot_interval) ||
      !duration("snapshot-retention", &options.snapshot_retention)) {
    return std::nullopt;
  }
  return options;
}

std::optional<std::string> OutputFormat(const Args& args, const std::vector<std::string>& allowed,
                                        const std::string& fallback) {
  std::string format = args.Flag("format");
  if (format.empty()) {
    if (!fallback.empty()) return fallback;
    return isatty(STDOUT_FILENO) != 0 ? "table" : "json";
  }
  if (std::find(allowed.begin(), allowed.end(), format) != allowed.end()) return format;
  std::string list;
  for (const std::string& a : allowed) list += StrCat(list.empty() ? "" : ", ", a);
  std::cerr << "ledger: --format must be one of " << list << ", got " << format << "\n";
  return std::nullopt;
}

std::optional<TimeMicros> NowFlag(const Args& args) {
  std::string text = args.Flag("now");
  if (text.empty()) return NowMicros();
  std::optional<TimeMicros> now = ParseRfc3339(text);
  if (!now) std::cerr << "ledger: --now must be an RFC 3339 time with a zone, got " << text << "\n";
  return now;
}

void PrintTable(const std::string& title, const boost::json::array& rows,
                const std::vector<std::string>& columns) {
  std::cout << "== " << title << " (" << rows.size() << ")\n";
  auto cell = [](const boost::json::value& v) -> std::string {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_null()) return "-";
    return boost::json::serialize(v);
  };
  std::vector<size_t> width;
  for (const std::string& c : columns) width.push_back(c.size());
  for (const boost::json::value& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      width[i] = std::max(width[i], cell(r.at(columns[i])).size());
    }
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    std::cout << absl::StrFormat("%-*s ", static_cast<int>(width[i]), columns[i]);
  }
  std::cout << "\n";
  for (const boost::json::value& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      std::cout << absl::StrFormat("%-*s ", static_cast<int>(width[i]), cell(r.at(columns[i])));
    }
    std::cout << "\n";
  }
}

std::string UsdtText(int64_t micros) { return FormatUsdt(micros); }

void ReportSnapshotSkipped(std::string_view why) {
  std::cerr << "ledger: fold snapshot not used (" << why
            << "); folding the whole log instead, which is slower but as correct. `ledger "
               "fold-snapshot --full` saves a new one; `ledger verify` checks the log\n";
}

void SaveSnapshotOrWarn(Appender& appender) {
  absl::StatusOr<int64_t> saved = appender.SaveSnapshot(kFoldSnapshotTailEvents);
  if (!saved.ok()) {
    std::cerr << "ledger: warning: could not save a fold snapshot: " << saved.status().message()
              << "\n";
  }
}

}  // namespace ledger::cli
