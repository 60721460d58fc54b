#include "engine/time_format.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/str_cat.h"

namespace ledger {

std::optional<TimeMicros> ParseRfc3339(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, AbslView(text), &t, &err)) return std::nullopt;
  // absl accepts sub-microsecond digits; the ledger stores microseconds, so more precision is refused
  // rather than silently truncated.
  if (absl::ToUnixNanos(t) % 1000 != 0) return std::nullopt;
  const TimeMicros micros = absl::ToUnixMicros(t);
  if (micros < kTimestampMin || micros >= kTimestampMax) return std::nullopt;
  return micros;
}

std::string FormatRfc3339(TimeMicros t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::FromUnixMicros(t), absl::UTCTimeZone());
}

std::string FormatPgTimestamp(TimeMicros t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", absl::FromUnixMicros(t), absl::UTCTimeZone());
}

std::optional<TimeMicros> ParsePgTimestamp(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", AbslView(text), absl::UTCTimeZone(), &t, &err)) {
    return std::nullopt;
  }
  return absl::ToUnixMicros(t);
}

TimeMicros NowMicros() { return absl::ToUnixMicros(absl::Now()); }

}  // namespace ledger
