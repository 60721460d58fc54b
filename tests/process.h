// Child processes for tests that drive the real `ledger` binary: spawn with redirected stdio, wait,
// kill. No shell is involved; arguments are passed as they are.
#ifndef LEDGER_TESTS_PROCESS_H_
#define LEDGER_TESTS_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ledger::testing {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // Added to (or replacing in) the inherited environment.
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";
  std::string stderr_path = "/dev/null";
};

// Starts the process; returns its pid.
pid_t Spawn(const ProcessSpec& spec);
// Waits for `pid`; returns its exit code, or 128 + signal when it was killed.
int Wait(pid_t pid);
// Spawn + Wait.
int Run(const ProcessSpec& spec);

// The `ledger` binary under test (build/ledger).
std::string LedgerBinary();

// A fresh directory under /tmp (mode 0700), removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 the kernel just handed out (and we released): free unless another process
// races for it. For servers the tests start (nats-server, PgBouncer).
int FreeLocalPort();
// Whether something accepts connections on 127.0.0.1:`port`.
bool AcceptsOnLocalPort(int port);
// Waits up to `timeout_ms` for a server the test started to accept on `port`; fails the test with
// `what` and its logs (read only then) otherwise.
void WaitUntilAccepting(int port, int timeout_ms, const std::string& what,
                        const std::function<std::string()>& logs);

// Reads a whole file.
std::string ReadFile(const std::string& path);

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_PROCESS_H_
