#include "engine/pg/embedded_db.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/pg/pg_errors.h"
#include "engine/str_cat.h"

namespace ledger::pg {
namespace {

namespace fs = std::filesystem;

// A unix socket path is at most 107 bytes; the server appends "/.s.PGSQL.5432".
constexpr size_t kSocketDirBytesMax = 90;
constexpr char kServerUser[] = "postgres";
constexpr char kPort[] = "5432";

std::string PgBin(std::string_view tool) {
  const char* dir = std::getenv("LEDGER_PG_BIN");
  return StrCat(dir != nullptr && *dir != '\0' ? dir : kDefaultPgBinDir, "/", tool);
}

bool IsRoot() { return geteuid() == 0; }

// Runs argv (no shell), as the server user when we are root, with its output appended to
// `output_path`. Returns the exit code, or -1.
int Run(std::vector<std::string> argv, const std::string& output_path = "/dev/null") {
  if (IsRoot()) {
    argv.insert(argv.begin(), {"runuser", "-u", kServerUser, "--"});
  }
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int out_fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd >= 0) {
      dup2(out_fd, STDOUT_FILENO);
      dup2(out_fd, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

absl::Status ChownToServer(const std::string& path) {
  if (!IsRoot()) return absl::OkStatus();
  struct passwd* pw = getpwnam(kServerUser);
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "running as root needs the 'postgres' user (installed with postgresql-15)");
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return absl::InternalError(StrCat("chown ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// Holds an exclusive flock on a file for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

EmbeddedDb::EmbeddedDb(std::string home) {
  std::error_code ec;
  fs::path absolute = fs::absolute(home, ec);
  home_ = ec ? home : absolute.lexically_normal().string();
  while (home_.size() > 1 && home_.back() == '/') home_.pop_back();
}

std::string EmbeddedDb::DefaultHome() {
  const char* home = std::getenv("LEDGER_HOME");
  return home != nullptr && *home != '\0' ? home : ".ledger";
}

std::string EmbeddedDb::DataDir() const { return home_ + "/pg/data"; }
std::string EmbeddedDb::SocketDir() const { return home_ + "/pg/run"; }

std::string EmbeddedDb::ConnectionString(std::string_view database) const {
  return StrCat("host=", SocketDir(), " port=", kPort, " dbname=", database,
                " user=", kEmbeddedUser);
}

std::string EmbeddedDb::Url() const {
  std::string host = SocketDir();
  std::string escaped;
  for (char c : host) escaped += c == '/' ? std::string("%2F") : std::string(1, c);
  return StrCat("postgresql://", kEmbeddedUser, "@/", kEmbeddedDbName, "?host=", escaped,
                "&port=", kPort);
}

absl::StatusOr<bool> EmbeddedDb::IsRunning() const {
  if (!fs::exists(DataDir() + "/PG_VERSION")) return false;
  // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
  const int code = Run({PgBin("pg_ctl"), "status", "-D", DataDir()});
  if (code == 0) return true;
  if (code == 3) return false;
  return absl::InternalError(StrCat("pg_ctl status failed (exit ", code, ") for ", DataDir()));
}

bool EmbeddedDb::IsServingDatabase() const {
  try {
    pqxx::connection conn(ConnectionString());
    return true;
  } catch (const std::exception&) {
    return false;  // Not running, or no database yet: the slow path finds out which.
  }
}

absl::Status EmbeddedDb::InitCluster() const {
  const std::string pg_dir = home_ + "/pg";
  // Data checksums: a ledger wants storage corruption detected, not read back as data.
  const std::string log = home_ + "/pg/initdb.log";
  if (int code = Run({PgBin("initdb"), "-D", DataDir(), "-U", kEmbeddedUser, "-A", "trust", "-E",
                      "UTF8", "--no-locale", "--data-checksums", "--no-instructions"},
                     log);
      code != 0) {
    return absl::InternalError(StrCat(
        "initdb failed (exit ", code, ") for ", DataDir(), "; see ", log,
        IsRoot() ? "; as root the server runs as 'postgres', which must be able to reach it" : ""));
  }
  std::ofstream conf(DataDir() + "/postgresql.auto.conf", std::ios::app);
  conf << "listen_addresses = ''\n"
       << "unix_socket_directories = '" << SocketDir() << "'\n"
       << "unix_socket_permissions = 0700\n"
       << "port = " << kPort << "\n";
  if (!conf) return absl::InternalError("cannot write postgresql.auto.conf");
  return absl::OkStatus();
}

absl::Status EmbeddedDb::CreateDatabase() const {
  const std::string admin = ConnectionString("postgres");
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction tx(conn);
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", kEmbeddedDbName).empty()) {
      // CREATE DATABASE takes no parameters; the name is our own constant, not input.
      tx.exec0(StrCat("CREATE DATABASE ", kEmbeddedDbName));
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return TranslateException(e, "create the embedded database");
  }
}

absl::Status EmbeddedDb::PrepareHome() const {
  if (SocketDir().size() > kSocketDirBytesMax) {
    return absl::InvalidArgumentError(
        StrCat("LEDGER_HOME ", home_, " is too long for a unix socket path; use a shorter one"));
  }
  std::error_code ec;
  fs::create_directories(home_ + "/pg/run", ec);
  if (ec) return absl::InternalError(StrCat("create ", home_, "/pg: ", ec.message()));
  if (IsRoot()) {
    // The server user must traverse home and own pg/.
    chmod(home_.c_str(), 0711);
    for (const char* sub : {"/pg", "/pg/run"}) {
      if (absl::Status s = ChownToServer(home_ + sub); !s.ok()) return s;
    }
  }
  chmod((home_ + "/pg/run").c_str(), 0700);
  return absl::OkStatus();
}

absl::Status EmbeddedDb::Start() {
  if (absl::Status s = PrepareHome(); !s.ok()) return s;
  FileLock lock(home_ + "/pg.lock");
  if (!lock.ok()) return absl::InternalError(StrCat("cannot lock ", home_, "/pg.lock"));
  if (!fs::exists(DataDir() + "/PG_VERSION")) {
    if (absl::Status s = InitCluster(); !s.ok()) return s;
  } else if (IsServingDatabase()) {
    return absl::OkStatus();
  }
  absl::StatusOr<bool> running = IsRunning();
  if (!running.ok()) return running.status();
  if (!*running) {
    const std::string log = home_ + "/pg/server.log";
    if (int code = Run({PgBin("pg_ctl"), "start", "-D", DataDir(), "-l", log, "-w", "-t",
                        StrCat(kPgCtlWaitSeconds)},
                       "/dev/null");
        code != 0) {
      return absl::UnavailableError(
          StrCat("PostgreSQL did not start (pg_ctl exit ", code, "); see ", log));
    }
  }
  return CreateDatabase();
}

absl::Status EmbeddedDb::CreateStandbyOf(const EmbeddedDb& primary) {
  if (absl::Status s = PrepareHome(); !s.ok()) return s;
  FileLock lock(home_ + "/pg.lock");
  if (!lock.ok()) return absl::InternalError(StrCat("cannot lock ", home_, "/pg.lock"));
  if (fs::exists(DataDir())) {
    return absl::AlreadyExistsError(StrCat(DataDir(), " exists: not a place for a new standby"));
  }
  const std::string log = home_ + "/pg/basebackup.log";
  if (int code = Run({PgBin("pg_basebackup"), "-h", primary.SocketDir(), "-p", kPort, "-U",
                      kEmbeddedUser, "-D", DataDir(), "-R", "-X", "stream", "-c", "fast"},
                     log);
      code != 0) {
    return absl::UnavailableError(
        StrCat("pg_basebackup from ", primary.SocketDir(), " failed (exit ", code, "); see ", log));
  }
  // The copy carries the primary's settings; the later line wins.
  std::ofstream conf(DataDir() + "/postgresql.auto.conf", std::ios::app);
  conf << "unix_socket_directories = '" << SocketDir() << "'\n";
  if (!conf) return absl::InternalError("cannot write the standby's postgresql.auto.conf");
  return absl::OkStatus();
}

absl::Status EmbeddedDb::Promote() {
  if (int code =
          Run({PgBin("pg_ctl"), "promote", "-D", DataDir(), "-w", "-t", StrCat(kPgCtlWaitSeconds)},
              "/dev/null");
      code != 0) {
    return absl::InternalError(StrCat("pg_ctl promote failed (exit ", code, ") for ", DataDir()));
  }
  return absl::OkStatus();
}

absl::Status EmbeddedDb::Stop(StopMode mode) {
  absl::StatusOr<bool> running = IsRunning();
  if (!running.ok()) return running.status();
  if (!*running) return absl::OkStatus();
  const char* mode_name = mode == StopMode::kImmediate ? "immediate" : "fast";
  if (int code = Run({PgBin("pg_ctl"), "stop", "-D", DataDir(), "-m", mode_name, "-w", "-t",
                      StrCat(kPgCtlWaitSeconds)},
                     "/dev/null");
      code != 0) {
    return absl::InternalError(StrCat("pg_ctl stop failed (exit ", code, ")"));
  }
  return absl::OkStatus();
}

}  // namespace ledger::pg
