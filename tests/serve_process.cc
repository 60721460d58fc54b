#include "tests/serve_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "tests/ledger_process.h"

namespace ledger::testing {
namespace {

// Start-up on a test's small log takes well under a second; a minute means it is stuck.
constexpr int kReadyWaitMs = 60000;
// One answer from a test's server comes in milliseconds; this only bounds a hung test.
constexpr int kReplyWaitMs = 60000;

bool ReadSome(int fd, std::string* out, int timeout_ms, bool* closed = nullptr) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof(buf));
  if (n <= 0) {
    if (closed != nullptr) *closed = true;
    return false;
  }
  out->append(buf, static_cast<size_t>(n));
  return true;
}

// Parses one response from the front of `in` when it is complete (Content-Length framing, which is
// all the service sends); erases it.
bool TakeResponse(std::string* in, HttpReply* reply) {
  const size_t end = in->find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::istringstream head(in->substr(0, end));
  std::string line;
  std::getline(head, line);
  reply->status = std::atoi(line.substr(9, 3).c_str());
  size_t length = 0;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    if (name == "content-length") length = static_cast<size_t>(std::stoul(value));
    reply->headers[name] = value;
  }
  if (in->size() < end + 4 + length) return false;
  reply->body = in->substr(end + 4, length);
  in->erase(0, end + 4 + length);
  return true;
}

}  // namespace

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

ServeProcess::ServeProcess(const std::string& conn, const TempDir& dir,
                           std::vector<std::string> extra, const std::string& tag,
                           std::map<std::string, std::string> env) {
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  ProcessSpec spec = LedgerSpec(conn, args, dir, tag);
  spec.env = std::move(env);
  err_path_ = spec.stderr_path;
  const std::string out_path = spec.stdout_path;
  pid_ = Spawn(spec);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyWaitMs);
  while (std::chrono::steady_clock::now() < until) {
    const std::string out = ReadFile(out_path);
    if (out.find('\n') != std::string::npos) {
      ready_ = boost::json::parse(out.substr(0, out.find('\n'))).as_object();
      const std::string listen(ready_.at("listen").as_string());
      port_ = std::stoi(listen.substr(listen.rfind(':') + 1));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      BOOST_FAIL("ledger serve exited before it was ready: " << ReadFile(err_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_FAIL("ledger serve was not ready within a minute: " << ReadFile(err_path_));
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) Kill();
}

int ServeProcess::Terminate() {
  kill(pid_, SIGTERM);
  const int code = Wait(pid_);
  pid_ = -1;
  return code;
}

void ServeProcess::Kill() {
  kill(pid_, SIGKILL);
  Wait(pid_);
  pid_ = -1;
}

boost::json::value HttpReply::Json() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  BOOST_REQUIRE_MESSAGE(!ec, "not JSON (status " << status << "): " << body);
  return v;
}

HttpClient::~HttpClient() {
  if (fd_ >= 0) close(fd_);
}

HttpReply HttpClient::Get(const std::string& target,
                          const std::map<std::string, std::string>& headers) {
  return Send("GET", target, "", headers);
}

HttpReply HttpClient::Post(const std::string& target, const std::string& body,
                           const std::string& content_type,
                           const std::map<std::string, std::string>& headers) {
  std::map<std::string, std::string> all = headers;
  all["Content-Type"] = content_type;
  return Send("POST", target, body, all);
}

HttpReply HttpClient::Send(const std::string& method, const std::string& target,
                           const std::string& body,
                           const std::map<std::string, std::string>& headers) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0) fd_ = Connect(port_);
    if (fd_ < 0) return HttpReply{};
    if (write(fd_, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      std::string in;
      HttpReply reply;
      while (ReadSome(fd_, &in, kReplyWaitMs)) {
        if (TakeResponse(&in, &reply)) {
          if (reply.headers["connection"] == "close") {
            close(fd_);
            fd_ = -1;
          }
          return reply;
        }
      }
    }
    close(fd_);  // The server closed a kept-alive connection: try once on a new one.
    fd_ = -1;
  }
  return HttpReply{};
}

void PostUntilAcknowledged(const std::vector<std::string>& events, int clients,
                           const std::function<int(size_t client)>& port, Acknowledgements* acks) {
  // An event left unacknowledged after this many attempts (about a minute of 20 ms waits) means the
  // service is not coming back.
  constexpr int kAttemptsMax = 3000;
  // A 422 that persists through this many tries (2 s of 20 ms waits) is the event's final verdict.
  constexpr int kRefusedAttempts = 100;
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = next.fetch_add(1); i < events.size(); i = next.fetch_add(1)) {
        for (int attempt = 0, refusals = 0;; ++attempt) {
          BOOST_REQUIRE_MESSAGE(attempt < kAttemptsMax, "event " << i << " never acknowledged");
          HttpClient c(port(static_cast<size_t>(t)));
          HttpReply r = c.Post("/v1/events", events[i]);
          if (r.status == 201 || r.status == 200) {
            boost::json::value v = r.Json();
            const auto& res = v.as_object().at("results").as_array()[0].as_object();
            std::lock_guard<std::mutex> lock(acks->mu);
            acks->hashes[res.at("seq").as_int64()] = std::string(res.at("hash").as_string());
            acks->answered.fetch_add(1);
            break;
          }
          BOOST_REQUIRE_MESSAGE(r.status == 0 || r.status == 503 || r.status == 422,
                                "status " << r.status << ": " << r.body);
          if (r.status == 422 && ++refusals == kRefusedAttempts) {
            acks->refused.fetch_add(1);
            break;
          }
          if (r.status != 422) acks->unavailable.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

std::string RawExchange(int port, const std::string& bytes, int timeout_ms, bool* closed) {
  bool peer_closed = false;
  const int fd = Connect(port);
  if (fd < 0) return "";
  if (!bytes.empty()) (void)!write(fd, bytes.data(), bytes.size());
  std::string out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          until - std::chrono::steady_clock::now())
                                          .count());
    if (!ReadSome(fd, &out, std::max(left, 1), &peer_closed)) break;
  }
  if (closed != nullptr) *closed = peer_closed;
  close(fd);
  return out;
}

}  // namespace ledger::testing
