#include "engine/retry.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace ledger {

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsUnknown(status);
}

bool Backoff::Wait(const absl::Status& cause, const RetryObserver& observer,
                   const std::atomic<bool>* stop) {
  if (attempt_ >= attempts_max_ || (stop != nullptr && stop->load())) return false;
  ++attempt_;
  if (observer) observer(RetryNotice{attempt_, attempts_max_, delay_ms_, cause});
  // Sleep in short slices so that a stop request is honoured promptly.
  constexpr int kSliceMs = 50;
  for (int slept = 0; slept < delay_ms_; slept += kSliceMs) {
    if (stop != nullptr && stop->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(kSliceMs, delay_ms_ - slept)));
  }
  delay_ms_ = std::min(delay_ms_ * 2, kOutageBackoffMsMax);
  return true;
}

void Backoff::Reset() {
  attempt_ = 0;
  delay_ms_ = kOutageBackoffMsMin;
}

}  // namespace ledger
