#include "server/metrics.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace ledger::server {
namespace {

std::string Header(const std::string& name, const std::string& help, const char* type) {
  return absl::StrFormat("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

// Prometheus's float format: shortest round-trip text, "+Inf" for infinity.
std::string Number(double v) {
  if (std::isinf(v)) return "+Inf";
  return absl::StrFormat("%.10g", v);
}

}  // namespace

Histogram::Histogram(std::string name, std::string help, std::span<const double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      bounds_(bounds.begin(), bounds.end()),
      buckets_(bounds.size() + 1) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (value > 0) {
    sum_nanos_.fetch_add(static_cast<uint64_t>(std::llround(value * 1e9)),
                         std::memory_order_relaxed);
  }
}

std::string Histogram::Render() const {
  std::string out = Header(name_, help_, "histogram");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const double le = i < bounds_.size() ? bounds_[i] : INFINITY;
    out += absl::StrFormat("%s_bucket{le=\"%s\"} %d\n", name_, Number(le), cumulative);
  }
  out +=
      absl::StrFormat("%s_sum %s\n", name_, Number(static_cast<double>(sum_nanos_.load()) / 1e9));
  out += absl::StrFormat("%s_count %d\n", name_, cumulative);
  return out;
}

LabeledCounter::LabeledCounter(std::string name, std::string help, std::string label)
    : name_(std::move(name)), help_(std::move(help)), label_(std::move(label)) {}

void LabeledCounter::Add(const std::string& value, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[value] += n;
}

uint64_t LabeledCounter::Get(const std::string& value) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(value);
  return it == values_.end() ? 0 : it->second;
}

std::string LabeledCounter::Render() const {
  std::string out = Header(name_, help_, "counter");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [value, n] : values_) {
    out += absl::StrFormat("%s{%s=\"%s\"} %d\n", name_, label_, value, n);
  }
  return out;
}

std::string RenderGauge(const std::string& name, const std::string& help, double value) {
  return Header(name, help, "gauge") + absl::StrFormat("%s %s\n", name, Number(value));
}

std::string RenderCounter(const std::string& name, const std::string& help, uint64_t value) {
  return Header(name, help, "counter") + absl::StrFormat("%s %d\n", name, value);
}

}  // namespace ledger::server
