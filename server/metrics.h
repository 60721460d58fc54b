// Metrics: counters and histograms that `GET /metrics` renders in Prometheus's text exposition
// format (version 0.0.4). Lock-free to record from any thread; rendering reads them without
// stopping writers, so a scrape may see a histogram's buckets a few observations apart from its
// count.
//
//   Histogram latency("ledger_http_request_seconds", "...", kLatencyBucketsSeconds);
//   latency.Observe(0.0021);
//   std::string text = latency.Render();
#ifndef LEDGER_SERVER_METRICS_H_
#define LEDGER_SERVER_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace ledger::server {

// Upper bounds, in seconds, for request latency and commit duration: 0.5 ms to 10 s, about
// doubling, so a p99 of a few ms and a stall of seconds both land in a bucket of their own.
inline constexpr double kLatencyBucketsSeconds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                    0.1,    0.2,   0.5,   1,     2,    5,    10};
// Upper bounds for events per commit batch (group commit): 1 to the batch limit.
inline constexpr double kBatchSizeBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2000};

class Histogram {
 public:
  Histogram(std::string name, std::string help, std::span<const double> bounds);
  void Observe(double value);
  // `# HELP`, `# TYPE` and the `_bucket`/`_sum`/`_count` lines.
  std::string Render() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> buckets_;  // Not cumulative; Render sums them.
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};  // Sum in units of 1e-9, so that it stays an integer.
};

// A counter family with one label (`code="MARKET_CLOSED"`, `result="accepted"`): the label values
// are few and known (error codes, result kinds), so a map under a mutex is plenty.
class LabeledCounter {
 public:
  LabeledCounter(std::string name, std::string help, std::string label);
  void Add(const std::string& value, uint64_t n = 1);
  uint64_t Get(const std::string& value) const;
  std::string Render() const;

 private:
  std::string name_;
  std::string help_;
  std::string label_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> values_;
};

// `# HELP`/`# TYPE gauge` and one sample.
std::string RenderGauge(const std::string& name, const std::string& help, double value);
std::string RenderCounter(const std::string& name, const std::string& help, uint64_t value);

}  // namespace ledger::server

#endif  // LEDGER_SERVER_METRICS_H_
