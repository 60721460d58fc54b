// A real `ledger serve` process for tests, and a small HTTP/1.1 client over real sockets.
//
//   ServeProcess serve(conn, dir, {"--tokens", path});     // waits until it prints "ready"
//   HttpClient client(serve.port());
//   HttpReply r = client.Post("/v1/events", event_json);
//   BOOST_TEST(r.status == 201);
#ifndef LEDGER_TESTS_SERVE_PROCESS_H_
#define LEDGER_TESTS_SERVE_PROCESS_H_

#include <sys/types.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/process.h"

namespace ledger::testing {

class ServeProcess {
 public:
  // Starts `ledger --db conn serve --listen 127.0.0.1:0 extra...` and waits until it is ready;
  // fails the test (with its stderr) if it exits or takes longer than a minute.
  ServeProcess(const std::string& conn, const TempDir& dir, std::vector<std::string> extra = {},
               const std::string& tag = "serve");
  ~ServeProcess();  // SIGKILL if still running.
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM and wait; the exit code.
  int Terminate();
  // SIGKILL and wait.
  void Kill();
  std::string Stderr() const { return ReadFile(err_path_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
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

// Raw bytes to the server on a new connection; returns everything it sent back until it closed the
// connection or `timeout_ms` passed; `closed` (optional) says which.
std::string RawExchange(int port, const std::string& bytes, int timeout_ms, bool* closed = nullptr);
// A connected socket to 127.0.0.1:port (the caller closes it).
int Connect(int port);

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_SERVE_PROCESS_H_
