// Outages: how a long-running command survives a database (or message server) that goes away and
// comes back.
//
// A transient failure is a lost connection (kUnavailable) or a commit whose outcome is unknown
// (kUnknown). The caller throws away everything it had not seen committed, reconnects, re-derives
// its state from what is committed, and redoes the work; the idempotency identities make redoing
// safe, so an unknown commit is resolved by looking, never by guessing. Anything else is not
// retried.
//
//   Backoff backoff;
//   for (;;) {
//     absl::Status s = Step();
//     if (s.ok() || !IsTransient(s) || !backoff.Wait(s, on_retry)) return s;
//     Reset();  // reconnect, forget uncommitted state
//   }
#ifndef LEDGER_ENGINE_RETRY_H_
#define LEDGER_ENGINE_RETRY_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace ledger {

// Attempts after a transient failure before giving up, the wait doubling from 100 ms to at most 5
// s: about 35 s of waiting, enough for a server restart or a failover, short enough that a dead
// server is reported while someone is still looking.
inline constexpr int kOutageRetriesMax = 12;
// An attempts_max that never runs out (`--retries unlimited`: a supervised service waits for its
// database as long as it takes, saying so at every attempt).
inline constexpr int kRetriesUnlimited = -1;
inline constexpr int kOutageBackoffMsMin = 100;
inline constexpr int kOutageBackoffMsMax = 5000;

// A lost connection or an unknown commit outcome.
bool IsTransient(const absl::Status& status);

// What a caller is told before each wait, to report the outage.
// Also sent once when an outage ends: `recovered`, with the attempts it took and how long it
// lasted.
struct RetryNotice {
  int attempt = 0;       // 1 for the first retry.
  int attempts_max = 0;  // kRetriesUnlimited: no limit.
  int delay_ms = 0;
  absl::Status cause;
  bool recovered = false;
  int64_t outage_ms = 0;  // recovered: from the first failure to the success.
};
using RetryObserver = std::function<void(const RetryNotice&)>;

// One line for a log: "CAUSE; retry 3 of 12 in 400 ms" (or "retry 3 unlimited"), or when the outage
// is over "reconnected: the outage lasted 2300 ms, 5 retries".
std::string DescribeRetry(const RetryNotice& notice);

// Bounded exponential backoff. Not thread-safe.
class Backoff {
 public:
  explicit Backoff(int attempts_max = kOutageRetriesMax, int delay_ms_min = kOutageBackoffMsMin,
                   int delay_ms_max = kOutageBackoffMsMax)
      : attempts_max_(attempts_max),
        delay_ms_(delay_ms_min),
        delay_ms_min_(delay_ms_min),
        delay_ms_max_(delay_ms_max) {}

  // Tells `observer` (if any), then sleeps before the next attempt. False, without sleeping, when
  // the attempts are used up or `stop` is set: the caller returns `cause`.
  bool Wait(const absl::Status& cause, const RetryObserver& observer,
            const std::atomic<bool>* stop = nullptr);
  // After a success: the next outage gets every attempt again. When it ends an outage, tells
  // `observer` (if any) that it is over and how long it lasted.
  void Reset(const RetryObserver& observer = nullptr);

  int attempts() const { return attempt_; }

 private:
  int attempts_max_;
  int attempt_ = 0;
  int delay_ms_;
  int delay_ms_min_;
  int delay_ms_max_;
  std::chrono::steady_clock::time_point outage_start_;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_RETRY_H_
