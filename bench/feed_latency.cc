// Follow latency under load: commit to visible in a `ledger feed --follow` process, and commit to
// projected by a `ledger project --follow` process (its checkpoints, which move in the same
// transaction as the projected rows, reach the event), while this program appends at a steady rate
// (default 10k events/s, in batches of 250, one transaction each (40 commits a second)).
//
// Baseline, measured in the same run on the same commits: the least any LISTEN-based reader can do
// — a second connection in this process that waits for the same NOTIFY and SELECTs the new rows.
// The feed adds a process, JSON encoding and a pipe on top. Expected: feed p99 well under 50 ms
// (the target of issue #5/#6), within a few ms of the baseline; both are dominated by the batch's
// commit and the server's notification delivery.
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
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/percentile.h"
#include "boost/json.hpp"
#include "engine/appender.h"
#include "engine/pg/database.h"
#include "engine/pg/sql_session.h"
#include "sample/stream_generator.h"

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

// The generated load: `total` events in batches of kBatchEvents, with ids fresh for every run (a
// prefix and seed from the head), so that runs on one database never collide.
std::vector<std::string> MakeBatches(int64_t total, int64_t head) {
  StreamOptions stream;
  stream.events = total;
  stream.markets = 100;
  stream.wallets = 10000;
  stream.seed = static_cast<uint64_t>(11 + head);
  stream.id_prefix = "latency-" + std::to_string(head) + "-";
  std::ostringstream generated;
  GenerateStream(stream, generated);
  std::vector<std::string> batches;
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
  return batches;
}

// One measurement: positions first .. first + total - 1, and when each was committed, fed,
// seen by the baseline reader and projected.
class LatencyRun {
 public:
  LatencyRun(const Options& o, int64_t first)
      : o_(o),
        first_(first),
        total_(o.rate * o.seconds),
        committed_(Slots()),
        fed_(Slots()),
        raw_(Slots()),
        projected_(Slots()) {}

  int64_t total() const { return total_; }

  // Polls the projection checkpoints until the projector has caught up with the existing log.
  bool WaitForProjector(pg::SqlSession& watcher) const {
    for (;;) {
      absl::StatusOr<std::string> cp = watcher.Scalar(kCheckpointSql);
      if (!cp.ok()) return false;
      if (std::stoll(*cp) >= first_ - 1) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // The projector notifies `ledger_projected` in each commit that moves its checkpoints: wait for
  // it, then read the checkpoints (the same LISTEN + read as the raw reader).
  void WatchProjections(pg::Database& listener, pg::SqlSession& watcher) {
    int64_t seen = first_ - 1;
    while (seen < last()) {
      if (!listener.projections().WaitForProjection(kListenPollMs).ok()) return;
      absl::StatusOr<std::string> cp = watcher.Scalar(kCheckpointSql);
      if (!cp.ok()) return;
      const int64_t at = std::min<int64_t>(std::stoll(*cp), last());
      const Clock::time_point now = Clock::now();
      for (; seen < at; ++seen) projected_[Slot(seen + 1)] = now;
    }
  }

  // Reads `ledger feed --follow`'s lines ({"seq":N,...}) from `fd`.
  void ReadFeed(int fd) {
    FILE* in = fdopen(fd, "r");
    char* line = nullptr;
    size_t cap = 0;
    int64_t got = 0;
    while (got < total_ && getline(&line, &cap, in) > 0) {
      int64_t seq = 0;
      const char* digits = line + 7;
      const char* end = std::strchr(digits, ',');
      if (end != nullptr &&
          absl::SimpleAtoi(absl::string_view(digits, static_cast<size_t>(end - digits)), &seq) &&
          seq >= first_ && seq <= last()) {
        fed_[Slot(seq)] = Clock::now();
        ++got;
      }
    }
    free(line);
    fclose(in);
  }

  // The baseline: LISTEN for appends and SELECT the new rows, with no process in between.
  void ReadRaw(pg::Database& reader) {
    int64_t seen = first_ - 1;
    while (seen < last()) {
      if (!reader.log().WaitForAppend(kListenPollMs).ok()) return;
      absl::Status s = reader.log().Scan(seen, [&](const LoggedEvent& row) {
        if (row.seq <= last()) raw_[Slot(row.seq)] = Clock::now();
        seen = row.seq;
        return absl::OkStatus();
      });
      if (!s.ok()) return;
    }
  }

  // Appends the batches at o.rate; false after a failure (the message printed).
  bool AppendAll(Appender& appender, const std::vector<std::string>& batches) {
    const Clock::time_point start = Clock::now();
    const auto interval = std::chrono::nanoseconds(1000000000LL * kBatchEvents / o_.rate);
    for (size_t b = 0; b < batches.size(); ++b) {
      std::this_thread::sleep_until(start + interval * static_cast<int64_t>(b));
      std::istringstream in(batches[b]);
      AppendSummary summary;
      if (absl::Status s = appender.Run(in, &summary); !s.ok() || !summary.last_seq) {
        std::cerr << "feed_latency: append failed or appended nothing: " << s << "\n";
        return false;
      }
      const Clock::time_point now = Clock::now();
      for (int64_t seq = *summary.first_seq; seq <= *summary.last_seq; ++seq) {
        committed_[Slot(seq)] = now;
      }
    }
    append_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
    return true;
  }

  void Report() const {
    std::vector<double> feed_ms, raw_ms, project_ms;
    for (int64_t seq = first_; seq <= last(); ++seq) {
      const size_t k = Slot(seq);
      feed_ms.push_back(Millis(fed_[k] - committed_[k]));
      raw_ms.push_back(Millis(raw_[k] - committed_[k]));
      project_ms.push_back(Millis(projected_[k] - committed_[k]));
    }
    const double feed_p99 = Percentile(feed_ms, 99);
    const double raw_p99 = Percentile(raw_ms, 99);
    const double project_p99 = Percentile(project_ms, 99);
    std::cout << boost::json::serialize(boost::json::object{
                     {"events", total_},
                     {"target_rate", o_.rate},
                     {"achieved_rate", static_cast<double>(total_) / append_seconds_},
                     {"feed_ms", Summary(feed_ms)},
                     {"project_follow_ms", Summary(project_ms)},
                     {"baseline_listen_select_ms", Summary(raw_ms)},
                     {"p99_ratio", raw_p99 > 0 ? feed_p99 / raw_p99 : 0},
                     {"project_p99_ratio", raw_p99 > 0 ? project_p99 / raw_p99 : 0}})
              << "\n";
  }

 private:
  static constexpr char kCheckpointSql[] =
      "SELECT coalesce(min(seq), 0) FROM projection_checkpoint";

  std::vector<Clock::time_point> Slots() const {
    return std::vector<Clock::time_point>(static_cast<size_t>(total_) + 1);
  }
  size_t Slot(int64_t seq) const { return static_cast<size_t>(seq - first_); }
  int64_t last() const { return first_ + total_ - 1; }

  const Options& o_;
  const int64_t first_;
  const int64_t total_;
  std::vector<Clock::time_point> committed_, fed_, raw_, projected_;
  double append_seconds_ = 0;
};

int Run(const Options& o) {
  auto writer = pg::Database::Open(o.db);
  auto reader = pg::Database::Open(o.db);
  auto projection_listener = pg::Database::Open(o.db);
  auto watcher = pg::SqlSession::Open(o.db);
  if (!writer.ok() || !reader.ok() || !projection_listener.ok() || !watcher.ok()) {
    std::cerr << "feed_latency: cannot connect\n";
    return 2;
  }
  absl::StatusOr<std::pair<int64_t, Sha256>> head = (*writer)->log().Head();
  if (!head.ok()) return 2;
  LatencyRun run(o, head->first + 1);
  const std::vector<std::string> batches = MakeBatches(run.total(), head->first);
  // The projector first catches up on the existing log, before the clock starts.
  const pid_t projector = StartProjector(o);
  if (projector < 0 || !run.WaitForProjector(**watcher)) return 2;
  std::thread projection_watcher([&] { run.WatchProjections(**projection_listener, **watcher); });
  int feed_fd = -1;
  const pid_t follower = StartFollower(o, head->first + 1, &feed_fd);
  if (follower < 0) return 2;
  std::thread feed_reader([&] { run.ReadFeed(feed_fd); });
  std::thread raw_reader([&] { run.ReadRaw(**reader); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // Let the follower start listening.

  AppendOptions options;
  options.batch_events = kBatchEvents;
  Appender appender(writer->get(), options);
  // Fold the existing log before the clock starts: the load is the appends, not the start-up.
  absl::Status caught_up = appender.CatchUp();
  if (!caught_up.ok() || !run.AppendAll(appender, batches)) {
    if (!caught_up.ok()) std::cerr << "feed_latency: " << caught_up << "\n";
    kill(follower, SIGTERM);
    kill(projector, SIGTERM);
    std::_Exit(2);  // The reader threads are blocked on the follower and the log.
  }
  raw_reader.join();
  feed_reader.join();
  projection_watcher.join();
  kill(follower, SIGTERM);
  kill(projector, SIGTERM);
  waitpid(follower, nullptr, 0);
  waitpid(projector, nullptr, 0);
  run.Report();
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
