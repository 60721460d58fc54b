#include "tests/pgbouncer.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger::testing {
namespace {

constexpr int kStartWaitMs = 10000;

}  // namespace

PgBouncer::PgBouncer() {
  char dir[] = "/tmp/ledger-pgbouncer-XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir) != nullptr);
  dir_ = dir;
  BOOST_REQUIRE(chmod(dir_.c_str(), 0777) ==
                0);  // PgBouncer (as postgres) writes its pid file here.
  port_ = FreeLocalPort();
  {
    std::ofstream users(dir_ + "/users.txt");
    users << "\"ledger\" \"\"\n";
    std::ofstream ini(dir_ + "/pgbouncer.ini");
    ini << "[databases]\n"
        << "* = host=" << Cluster().SocketDir() << " port=5432\n"
        << "[pgbouncer]\n"
        << "listen_addr = 127.0.0.1\n"
        << "listen_port = " << port_ << "\n"
        << "unix_socket_dir =\n"
        << "auth_type = trust\n"
        << "auth_file = " << dir_ << "/users.txt\n"
        << "pool_mode = transaction\n"
        << "default_pool_size = 4\n"
        << "max_client_conn = 200\n"
        << "pidfile = " << dir_ << "/pgbouncer.pid\n"
        << "logfile = " << dir_ << "/pgbouncer.log\n";
  }
  ProcessSpec spec;
  spec.argv = {"/usr/sbin/pgbouncer", dir_ + "/pgbouncer.ini"};
  if (geteuid() == 0)
    spec.argv.insert(spec.argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  spec.stderr_path = dir_ + "/stderr.txt";
  pid_ = Spawn(spec);
  WaitUntilAccepting(port_, kStartWaitMs, "pgbouncer", [this] {
    return ReadFile(dir_ + "/stderr.txt") + ReadFile(dir_ + "/pgbouncer.log");
  });
}

PgBouncer::~PgBouncer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    Wait(pid_);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PgBouncer::ConnectionString(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database + " user=ledger";
}

}  // namespace ledger::testing
