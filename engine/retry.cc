#include "engine/retry.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_format.h"

namespace ledger {

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsUnknown(status);
}

std::string DescribeRetry(const RetryNotice& notice) {
  if (notice.recovered) {
    return absl::StrFormat("reconnected: the outage lasted %d ms, %d retries", notice.outage_ms,
                           notice.attempt);
  }
  const std::string of = notice.attempts_max == kRetriesUnlimited
                             ? std::string("unlimited")
                             : absl::StrFormat("of %d", notice.attempts_max);
  return absl::StrFormat("%s; retry %d %s in %d ms", notice.cause.ToString(), notice.attempt, of,
                         notice.delay_ms);
}

bool Backoff::Wait(const absl::Status& cause, const RetryObserver& observer,
                   const std::atomic<bool>* stop) {
  if ((attempts_max_ != kRetriesUnlimited && attempt_ >= attempts_max_) ||
      (stop != nullptr && stop->load())) {
    return false;
  }
  if (attempt_ == 0) outage_start_ = std::chrono::steady_clock::now();
  ++attempt_;
  if (observer) observer(RetryNotice{attempt_, attempts_max_, delay_ms_, cause});
  // Sleep in short slices so that a stop request is honoured promptly.
  constexpr int kSliceMs = 50;
  for (int slept = 0; slept < delay_ms_; slept += kSliceMs) {
    if (stop != nullptr && stop->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(kSliceMs, delay_ms_ - slept)));
  }
  delay_ms_ = std::min(delay_ms_ * 2, delay_ms_max_);
  return true;
}

void Backoff::Reset(const RetryObserver& observer) {
  if (attempt_ > 0 && observer) {
    RetryNotice notice;
    notice.attempt = attempt_;
    notice.attempts_max = attempts_max_;
    notice.recovered = true;
    notice.outage_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - outage_start_)
                           .count();
    observer(notice);
  }
  attempt_ = 0;
  delay_ms_ = delay_ms_min_;
}

}  // namespace ledger
