// Follow latency under load: commit to visible in a `ledger feed --follow` process, and commit to
// projected by a `ledger project --follow` process (its checkpoints, which move in the same
// transaction as the projected rows, reach the event), while this program appends at a steady rate
// (default 10k events/s, in batches of 250, one transaction each (40 commits a second)).
//
// Baseline, measured in the same run on the same commits: the least any LISTEN-based reader can do
// — a second connection in this process that waits for the same NOTIFY and SELECTs the new rows. The
// feed adds a process, JSON encoding and a pipe on top. Expected: feed p99 well under 50 ms (the
// target of issue #5/#6), within a few ms of the baseline; both are dominated by the batch's commit
// and the server's notification delivery.
//
//   feed_latency --db URL --ledger build/ledger [--rate 10000] [--seconds 10]
// Prints one JSON object: achieved rate, p50/p99/max of each, and the p99 ratios to the baseline.
// The projector's figure: its commits notify `ledger_projected`; a LISTENing connection here reads
// the checkpoints on each notification.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "boost/json.hpp"
#include "engine/appender.h"
#include "engine/pg/log_store.h"
#include "engine/pg/sql_session.h"
#include "engine/stream_generator.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kBatchEvents = 250;
constexpr int kListenPollMs = 50;

struct Options {
  std::string db;
  std::string ledger;
  int64_t rate = 10000;
  int64_t seconds = 10;
};

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// p-th percentile (0..100) of `values`, nearest rank.
double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

// Starts `ledger --db URL feed --follow --from FROM` with its stdout on a pipe; returns the pid.
pid_t StartFollower(const Options& o, int64_t from, int* read_fd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string from_text = std::to_string(from);
    execl(o.ledger.c_str(), o.ledger.c_str(), "--db", o.db.c_str(), "feed", "--follow", "--from",
          from_text.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  *read_fd = fds[0];
  return pid;
}

// Starts `ledger --db URL project --follow`, its output discarded; returns the pid.
pid_t StartProjector(const Options& o) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    execl(o.ledger.c_str(), o.ledger.c_str(), "--db", o.db.c_str(), "project", "--follow",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

boost::json::object Summary(const std::vector<double>& ms) {
  return boost::json::object{
      {"p50", Percentile(ms, 50)}, {"p99", Percentile(ms, 99)}, {"max", Percentile(ms, 100)}};
}

int Run(const Options& o) {
  absl::StatusOr<std::unique_ptr<pg::LogStore>> writer = pg::LogStore::Open(o.db);
  absl::StatusOr<std::unique_ptr<pg::LogStore>> reader = pg::LogStore::Open(o.db);
  if (!writer.ok() || !reader.ok()) {
    std::cerr << "feed_latency: cannot connect\n";
    return 2;
  }
  absl::StatusOr<std::pair<int64_t, Sha256>> head = (*writer)->Head();
  if (!head.ok()) return 2;
  const int64_t first = head->first + 1;
  const int64_t total = o.rate * o.seconds;

  StreamOptions stream;
  stream.events = total;
  stream.markets = 100;
  stream.wallets = 10000;
  // Fresh ids and wallets-times on every run, so that runs on one database never collide.
  stream.seed = static_cast<uint64_t>(11 + head->first);
  stream.id_prefix = "latency-" + std::to_string(head->first) + "-";
  std::ostringstream generated;
  GenerateStream(stream, generated);
  std::vector<std::string> batches;
  {
    std::istringstream lines(generated.str());
    std::string line, batch;
    int64_t n = 0;
    while (std::getline(lines, line)) {
      batch += line + "\n";
      if (++n % kBatchEvents == 0) {
        batches.push_back(std::move(batch));
        batch.clear();
      }
    }
    if (!batch.empty()) batches.push_back(std::move(batch));
  }

  std::vector<Clock::time_point> committed(static_cast<size_t>(total) + 1);
  std::vector<Clock::time_point> fed(static_cast<size_t>(total) + 1);
  std::vector<Clock::time_point> raw(static_cast<size_t>(total) + 1);
  std::vector<Clock::time_point> projected(static_cast<size_t>(total) + 1);
  std::atomic<int64_t> appended_through{first - 1};

  // The projector first catches up on the existing log, before the clock starts.
  absl::StatusOr<std::unique_ptr<pg::SqlSession>> watcher = pg::SqlSession::Open(o.db);
  if (!watcher.ok()) return 2;
  const std::string checkpoint_sql = "SELECT coalesce(min(seq), 0) FROM projection_checkpoint";
  const pid_t projector = StartProjector(o);
  if (projector < 0) return 2;
  for (;;) {
    absl::StatusOr<std::string> cp = (*watcher)->Scalar(checkpoint_sql);
    if (!cp.ok()) return 2;
    if (std::stoll(*cp) >= first - 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The projector notifies `ledger_projected` in each commit that moves its checkpoints: this
  // reader waits for it, then reads the checkpoints (the same LISTEN + read as the raw reader).
  absl::StatusOr<std::unique_ptr<pg::LogStore>> projection_listener = pg::LogStore::Open(o.db);
  if (!projection_listener.ok()) return 2;
  std::thread projection_watcher([&] {
    int64_t seen = first - 1;
    while (seen < first + total - 1) {
      if (!(*projection_listener)->WaitForProjection(kListenPollMs).ok()) return;
      absl::StatusOr<std::string> cp = (*watcher)->Scalar(checkpoint_sql);
      if (!cp.ok()) return;
      const int64_t at = std::min<int64_t>(std::stoll(*cp), first + total - 1);
      const Clock::time_point now = Clock::now();
      for (; seen < at; ++seen) projected[static_cast<size_t>(seen + 1 - first)] = now;
    }
  });

  int feed_fd = -1;
  const pid_t follower = StartFollower(o, first, &feed_fd);
  if (follower < 0) return 2;
  std::thread feed_reader([&] {
    FILE* in = fdopen(feed_fd, "r");
    char* line = nullptr;
    size_t cap = 0;
    int64_t got = 0;
    while (got < total && getline(&line, &cap, in) > 0) {
      // Lines start with {"seq":N,
      int64_t seq = 0;
      const char* digits = line + 7;
      const char* end = std::strchr(digits, ',');
      if (end != nullptr && absl::SimpleAtoi(absl::string_view(digits, static_cast<size_t>(end - digits)), &seq) &&
          seq >= first && seq < first + total) {
        fed[static_cast<size_t>(seq - first)] = Clock::now();
        ++got;
      }
    }
    free(line);
    fclose(in);
  });
  std::thread raw_reader([&] {
    int64_t seen = first - 1;
    while (seen < first + total - 1) {
      absl::StatusOr<bool> notified = (*reader)->WaitForAppend(kListenPollMs);
      if (!notified.ok()) return;
      absl::Status s = (*reader)->Scan(seen, [&](const LoggedEvent& row) {
        if (row.seq < first + total) raw[static_cast<size_t>(row.seq - first)] = Clock::now();
        seen = row.seq;
        return absl::OkStatus();
      });
      if (!s.ok()) return;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // Let the follower start listening.

  AppendOptions options;
  options.batch_events = kBatchEvents;
  Appender appender(writer->get(), options);
  // Fold the existing log before the clock starts: the load is the appends, not the start-up.
  if (absl::Status s = appender.CatchUp(); !s.ok()) {
    std::cerr << "feed_latency: " << s << "\n";
    kill(follower, SIGTERM);
    kill(projector, SIGTERM);
    std::_Exit(2);
  }
  const Clock::time_point start = Clock::now();
  const auto interval = std::chrono::nanoseconds(1000000000LL * kBatchEvents / o.rate);
  for (size_t b = 0; b < batches.size(); ++b) {
    std::this_thread::sleep_until(start + interval * static_cast<int64_t>(b));
    std::istringstream in(batches[b]);
    AppendSummary summary;
    if (absl::Status s = appender.Run(in, &summary); !s.ok() || !summary.last_seq) {
      std::cerr << "feed_latency: append failed or appended nothing: " << s << "\n";
      kill(follower, SIGTERM);
      kill(projector, SIGTERM);
      std::_Exit(2);  // The reader threads are blocked on the follower and the log.
    }
    const Clock::time_point now = Clock::now();
    for (int64_t seq = *summary.first_seq; seq <= *summary.last_seq; ++seq) {
      committed[static_cast<size_t>(seq - first)] = now;
    }
    appended_through = *summary.last_seq;
  }
  const double append_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  raw_reader.join();
  feed_reader.join();
  projection_watcher.join();
  kill(follower, SIGTERM);
  kill(projector, SIGTERM);
  waitpid(follower, nullptr, 0);
  waitpid(projector, nullptr, 0);

  std::vector<double> feed_ms, raw_ms, project_ms;
  for (int64_t i = 0; i < total; ++i) {
    const size_t k = static_cast<size_t>(i);
    feed_ms.push_back(Millis(fed[k] - committed[k]));
    raw_ms.push_back(Millis(raw[k] - committed[k]));
    project_ms.push_back(Millis(projected[k] - committed[k]));
  }
  const double feed_p99 = Percentile(feed_ms, 99);
  const double raw_p99 = Percentile(raw_ms, 99);
  const double project_p99 = Percentile(project_ms, 99);
  std::cout << boost::json::serialize(boost::json::object{
                   {"events", total},
                   {"target_rate", o.rate},
                   {"achieved_rate", static_cast<double>(total) / append_seconds},
                   {"feed_ms", Summary(feed_ms)},
                   {"project_follow_ms", Summary(project_ms)},
                   {"baseline_listen_select_ms", Summary(raw_ms)},
                   {"p99_ratio", raw_p99 > 0 ? feed_p99 / raw_p99 : 0},
                   {"project_p99_ratio", raw_p99 > 0 ? project_p99 / raw_p99 : 0}})
            << "\n";
  return 0;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) {
  ledger::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--db") o.db = value;
    if (flag == "--ledger") o.ledger = value;
    if (flag == "--rate" && !absl::SimpleAtoi(value, &o.rate)) return 2;
    if (flag == "--seconds" && !absl::SimpleAtoi(value, &o.seconds)) return 2;
  }
  if (o.db.empty() || o.ledger.empty() || o.rate < ledger::kBatchEvents || o.seconds < 1) {
    std::cerr << "usage: feed_latency --db URL --ledger PATH [--rate N>=100] [--seconds S]\n";
    return 2;
  }
  return ledger::Run(o);
}
