// A real `ledger serve` process for tests, and a small HTTP/1.1 client over real sockets.
//
//   ServeProcess serve(conn, dir, {"--tokens", path});     // waits until it prints "ready"
//   HttpClient client(serve.port());
//   HttpReply r = client.Post("/v1/events", event_json);
//   BOOST_TEST(r.status == 201);
#ifndef LEDGER_TESTS_SERVE_PROCESS_H_
#define LEDGER_TESTS_SERVE_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/process.h"

namespace ledger::testing {

class ServeProcess {
 public:
  // Starts `ledger --db conn serve --listen 127.0.0.1:0 extra...` (with `env` added to its
  // environment) and waits until it is ready; fails the test (with its stderr) if it exits or takes
  // longer than a minute.
  ServeProcess(const std::string& conn, const TempDir& dir, std::vector<std::string> extra = {},
               const std::string& tag = "serve", std::map<std::string, std::string> env = {});
  ~ServeProcess();  // SIGKILL if still running.
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  // The line it printed when ready ({"ready", "listen", "headSeq", "foldedFrom", "startMs"}).
  const boost::json::object& ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  // SIGTERM and wait; the exit code.
  int Terminate();
  // SIGKILL and wait.
  void Kill();
  std::string Stderr() const { return ReadFile(err_path_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  boost::json::object ready_;
  std::string err_path_;
};

struct HttpReply {
  int status = 0;                              // 0: no answer (connection closed or failed).
  std::map<std::string, std::string> headers;  // Names lower case.
  std::string body;
  boost::json::value Json() const;  // The body parsed; fails the test when it is not JSON.
};

// One keep-alive connection to 127.0.0.1:port, reopened when the server closed it.
class HttpClient {
 public:
  explicit HttpClient(int port) : port_(port) {}
  ~HttpClient();
  HttpReply Get(const std::string& target, const std::map<std::string, std::string>& headers = {});
  HttpReply Post(const std::string& target, const std::string& body,
                 const std::string& content_type = "application/json",
                 const std::map<std::string, std::string>& headers = {});
  HttpReply Send(const std::string& method, const std::string& target, const std::string& body,
                 const std::map<std::string, std::string>& headers);

 private:
  int port_;
  int fd_ = -1;
};

// How PostUntilAcknowledged went: every acknowledgement's (seq, hash), and counts for the caller's
// progress checks (atomics: read while it runs).
struct Acknowledgements {
  std::mutex mu;
  std::map<int64_t, std::string> hashes;  // seq -> hash, as answered.
  std::atomic<int64_t> answered{0};
  std::atomic<int64_t> unavailable{0};  // 503s and requests that got no answer.
  // Events still refused (422) after kRefusedAttempts tries: racing clients reorder a stream, so an
  // event can become invalid for good (a bet that arrives after its market closed). Settled, and
  // not in the log.
  std::atomic<int64_t> refused{0};
};

// Posts every event from `clients` threads, one event per request, each retried until it is
// acknowledged (201 or 200) the way a careful client does: 503 and no answer (the service is down
// or restarting) are retried, and so is 422 (clients race, so an event can arrive before the one it
// depends on) until it is refused kRefusedAttempts times; anything else fails the test. `port()` is
// read before each attempt, so the service may be restarted on another port meanwhile. Returns when
// every event is acknowledged.
void PostUntilAcknowledged(const std::vector<std::string>& events, int clients,
                           const std::function<int(size_t client)>& port, Acknowledgements* acks);

// Raw bytes to the server on a new connection; returns everything it sent back until it closed the
// connection or `timeout_ms` passed; `closed` (optional) says which.
std::string RawExchange(int port, const std::string& bytes, int timeout_ms, bool* closed = nullptr);
// A connected socket to 127.0.0.1:port (the caller closes it).
int Connect(int port);

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_SERVE_PROCESS_H_
