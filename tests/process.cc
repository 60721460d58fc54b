#include "tests/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ledger::testing {

pid_t Spawn(const ProcessSpec& spec) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  auto redirect = [](const std::string& path, int flags, int target) {
    int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, target);
    close(fd);
  };
  redirect(spec.stdin_path, O_RDONLY, STDIN_FILENO);
  redirect(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC, STDOUT_FILENO);
  redirect(spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC, STDERR_FILENO);
  for (const auto& [key, value] : spec.env) setenv(key.c_str(), value.c_str(), 1);
  std::vector<char*> args;
  for (const std::string& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

int Wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int Run(const ProcessSpec& spec) { return Wait(Spawn(spec)); }

std::string LedgerBinary() { return LEDGER_BINARY; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TempDir::TempDir() {
  char dir[] = "/tmp/ledger-test-XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir) != nullptr);
  path_ = dir;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreeLocalPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  BOOST_REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

bool AcceptsOnLocalPort(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

void WaitUntilAccepting(int port, int timeout_ms, const std::string& what,
                        const std::function<std::string()>& logs) {
  constexpr int kPollMs = 50;
  for (int waited = 0; !AcceptsOnLocalPort(port); waited += kPollMs) {
    BOOST_REQUIRE_MESSAGE(waited < timeout_ms, what << " did not start: " << logs());
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

}  // namespace ledger::testing
