// Fixed-rate single-event POSTs against a running `ledger serve`, and commit-to-SSE delivery.
//
// An open load: request i is due at start + i / rate, whatever happened to the requests before it,
// and its latency is measured from when it was due, not from when it was sent. A closed-loop tool
// (wrk) waits for an answer before the next request, so a slow answer hides the requests that
// would have queued behind it ("coordinated omission"); here their wait counts.
//
// Meanwhile one /v1/feed subscriber (Server-Sent Events, from the head before the run) notes when
// each acknowledged position arrives. Commit-to-SSE is arrival minus acknowledgement: the
// acknowledgement is written right after COMMIT, so this is the commit's delay to the feed plus
// well under a millisecond. Due-to-SSE (the whole trip from a client's click to another client's
// screen) is printed too.
//
//   serve_rate --port P --rate 100 --seconds 10 [--connections 16] [--prefix run1]
// Prints one JSON object; scripts/bench-serve sets it against pgbench measured in the same run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "bench/percentile.h"
#include "boost/json.hpp"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;

// Connections the load is spread over: at 1000 requests/s each has 16 ms per request, several
// times a commit, so a connection is free again when its next request is due.
constexpr int kConnectionsDefault = 16;
// How long the feed may take to deliver the last acknowledged positions once the load stops.
constexpr int kFeedDrainMs = 3000;
constexpr size_t kReadChunkBytes = 64 * 1024;

struct Options {
  int port = 0;
  int64_t rate = 100;
  int64_t seconds = 10;
  int connections = kConnectionsDefault;
  std::string prefix = "rate";
};

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

struct Reply {
  int status = 0;  // 0: no answer.
  std::string body;
};

// One request and its answer on a keep-alive connection (the server always sends Content-Length).
Reply Exchange(int fd, const std::string& request, std::string* pending) {
  Reply reply;
  if (!SendAll(fd, request)) return reply;
  char chunk[kReadChunkBytes];
  for (;;) {
    const size_t head_end = pending->find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const std::string head = pending->substr(0, head_end);
      size_t length = 0;
      const size_t at = head.find("Content-Length: ");
      if (at != std::string::npos) {
        length = std::strtoull(head.c_str() + at + std::strlen("Content-Length: "), nullptr, 10);
      }
      if (pending->size() >= head_end + 4 + length) {
        reply.status = std::atoi(head.c_str() + std::strlen("HTTP/1.1 "));
        reply.body = pending->substr(head_end + 4, length);
        pending->erase(0, head_end + 4 + length);
        return reply;
      }
    }
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return reply;
    pending->append(chunk, static_cast<size_t>(n));
  }
}

std::string PostRequest(const std::string& market_id) {
  const std::string body = absl::StrFormat(
      R"({"action":"MARKET_CREATED","createdAt":"2026-01-15T00:00:00Z","marketId":"%s",)"
      R"("question":"Bench?","startDate":"2026-01-15T00:00:00Z","endDate":"2030-01-01T00:00:00Z",)"
      R"("contractAddress":"0x8eae8949000b53c91a38f74b3ab18a7514ec235c",)"
      R"("gnosisSafeAddress":"0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"})",
      market_id);
  return absl::StrFormat(
      "POST /v1/events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
      "Content-Length: %d\r\n\r\n%s",
      body.size(), body);
}

// The head's seq, or nullopt.
std::optional<int64_t> HeadSeq(int port) {
  const int fd = Connect(port);
  if (fd < 0) return std::nullopt;
  std::string pending;
  const Reply r = Exchange(fd, "GET /v1/head HTTP/1.1\r\nHost: bench\r\n\r\n", &pending);
  close(fd);
  if (r.status != 200) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("seq")) return std::nullopt;
  return v.as_object().at("seq").as_int64();
}

// When each position arrived on one SSE connection (by seq - first).
class FeedWatch {
 public:
  FeedWatch(int port, int64_t first, size_t slots) : first_(first), arrived_(slots) {
    fd_ = Connect(port);
    if (fd_ >= 0) {
      SendAll(fd_, absl::StrFormat("GET /v1/feed?from=%d HTTP/1.1\r\nHost: bench\r\n"
                                   "Accept: text/event-stream\r\n\r\n",
                                   first));
      thread_ = std::thread([this] { Read(); });
    }
  }
  ~FeedWatch() {
    if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  std::optional<Clock::time_point> Arrival(int64_t seq) const {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t i = seq - first_;
    if (i < 0 || i >= static_cast<int64_t>(arrived_.size())) return std::nullopt;
    return arrived_[static_cast<size_t>(i)];
  }

 private:
  void Read() {
    std::string text;
    char chunk[kReadChunkBytes];
    for (;;) {
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      const Clock::time_point now = Clock::now();
      text.append(chunk, static_cast<size_t>(n));
      size_t line_start = 0;
      for (size_t end; (end = text.find('\n', line_start)) != std::string::npos;
           line_start = end + 1) {
        int64_t seq = 0;
        const absl::string_view line(text.data() + line_start, end - line_start);
        if (line.substr(0, 4) == "id: " && absl::SimpleAtoi(line.substr(4), &seq)) {
          std::lock_guard<std::mutex> lock(mu_);
          const int64_t i = seq - first_;
          if (i >= 0 && i < static_cast<int64_t>(arrived_.size())) {
            arrived_[static_cast<size_t>(i)] = now;
          }
        }
      }
      text.erase(0, line_start);
    }
  }

  const int64_t first_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::vector<std::optional<Clock::time_point>> arrived_;
  std::thread thread_;
};

struct Sample {
  double latency_us = 0;  // From due to answered.
  int64_t seq = 0;        // 0: not accepted.
  Clock::time_point due;
  Clock::time_point answered;
};

// For every accepted sample: its latency, and (waiting up to kFeedDrainMs past `finished` for the
// last ones) the time from its acknowledgement and from when it was due to its arrival on the
// feed. Returns the accepted samples the feed never delivered.
int64_t PairWithFeed(const std::vector<Sample>& samples, const FeedWatch& feed,
                     Clock::time_point finished, std::vector<double>* latency_us,
                     std::vector<double>* sse_us, std::vector<double>* due_to_sse_us) {
  const Clock::time_point drain_until = finished + std::chrono::milliseconds(kFeedDrainMs);
  int64_t missing = 0;
  for (const Sample& s : samples) {
    if (s.seq == 0) continue;
    latency_us->push_back(s.latency_us);
    std::optional<Clock::time_point> arrived = feed.Arrival(s.seq);
    while (!arrived && Clock::now() < drain_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      arrived = feed.Arrival(s.seq);
    }
    if (!arrived) {
      ++missing;
      continue;
    }
    sse_us->push_back(std::max(0.0, Micros(*arrived - s.answered)));
    due_to_sse_us->push_back(Micros(*arrived - s.due));
  }
  return missing;
}

int Run(const Options& o) {
  const std::optional<int64_t> head = HeadSeq(o.port);
  if (!head) {
    std::cerr << "serve_rate: no answer from GET /v1/head on port " << o.port << "\n";
    return 2;
  }
  const int64_t total = o.rate * o.seconds;
  // Every position past the head could be one of ours; a few more in case others append too.
  FeedWatch feed(o.port, *head + 1, static_cast<size_t>(total * 2 + 1000));
  if (!feed.connected()) {
    std::cerr << "serve_rate: cannot open the feed\n";
    return 2;
  }
  std::vector<Sample> samples(static_cast<size_t>(total));
  std::atomic<int64_t> errors{0};
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(100);
  const auto interval = std::chrono::nanoseconds(1000000000LL / o.rate);
  std::vector<std::thread> workers;
  for (int w = 0; w < o.connections; ++w) {
    workers.emplace_back([&, w] {
      int fd = Connect(o.port);
      std::string pending;
      for (int64_t i = w; i < total; i += o.connections) {
        Sample& s = samples[static_cast<size_t>(i)];
        s.due = start + interval * i;
        std::this_thread::sleep_until(s.due);
        const Reply r =
            fd < 0 ? Reply{}
                   : Exchange(fd, PostRequest(absl::StrFormat("%s-%d", o.prefix, i)), &pending);
        s.answered = Clock::now();
        s.latency_us = Micros(s.answered - s.due);
        boost::system::error_code ec;
        boost::json::value v = r.status == 201 ? boost::json::parse(r.body, ec) : nullptr;
        if (r.status != 201 || ec) {
          errors.fetch_add(1);
          if (r.status == 0) {  // The connection is gone: a new one for the next request.
            if (fd >= 0) close(fd);
            fd = Connect(o.port);
            pending.clear();
          }
          continue;
        }
        s.seq = v.at("results").as_array().at(0).at("seq").as_int64();
      }
      if (fd >= 0) close(fd);
    });
  }
  for (std::thread& t : workers) t.join();
  const Clock::time_point finished = Clock::now();

  std::vector<double> latency_us, sse_us, due_to_sse_us;
  const int64_t missing =
      PairWithFeed(samples, feed, finished, &latency_us, &sse_us, &due_to_sse_us);
  const double elapsed_s = std::chrono::duration<double>(finished - start).count();
  boost::json::object out{
      {"rate", o.rate},
      {"seconds", o.seconds},
      {"connections", o.connections},
      {"requests", total},
      {"errors", errors.load()},
      {"achieved_per_s", static_cast<int64_t>(static_cast<double>(latency_us.size()) / elapsed_s)},
      {"p50_us", static_cast<int64_t>(Percentile(latency_us, 50))},
      {"p99_us", static_cast<int64_t>(Percentile(latency_us, 99))},
      {"p999_us", static_cast<int64_t>(Percentile(latency_us, 99.9))},
      {"max_us", static_cast<int64_t>(Percentile(latency_us, 100))},
      {"sse", boost::json::object{
                  {"delivered", static_cast<int64_t>(sse_us.size())},
                  {"missing", missing},
                  {"p50_us", static_cast<int64_t>(Percentile(sse_us, 50))},
                  {"p99_us", static_cast<int64_t>(Percentile(sse_us, 99))},
                  {"max_us", static_cast<int64_t>(Percentile(sse_us, 100))},
                  {"due_to_sse_p99_us", static_cast<int64_t>(Percentile(due_to_sse_us, 99))}}}};
  std::cout << boost::json::serialize(out) << "\n";
  return errors.load() == 0 && missing == 0 ? 0 : 1;
}

bool ParseFlags(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    int64_t n = 0;
    if (flag == "--prefix") {
      o->prefix = value;
      continue;
    }
    if (!absl::SimpleAtoi(value, &n) || n <= 0) return false;
    if (flag == "--port") {
      o->port = static_cast<int>(n);
    } else if (flag == "--rate") {
      o->rate = n;
    } else if (flag == "--seconds") {
      o->seconds = n;
    } else if (flag == "--connections") {
      o->connections = static_cast<int>(n);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && o->port > 0;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) {
  ledger::Options options;
  if (!ledger::ParseFlags(argc, argv, &options)) {
    std::cerr << "usage: serve_rate --port P [--rate N] [--seconds N] [--connections N] "
                 "[--prefix TEXT]\n";
    return 2;
  }
  return ledger::Run(options);
}
