#include "engine/time_format.h"

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/str_cat.h"

namespace ledger {

std::optional<TimeMicros> ParseRfc3339(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, AbslView(text), &t, &err)) return std::nullopt;
  // absl accepts sub-microsecond digits; the ledger stores microseconds, so more precision is
  // refused rather than silently truncated.
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

namespace {
constexpr int64_t kMicrosPerSecond = 1000000;
struct DurationUnit {
  char suffix;
  int64_t seconds;
};
// Largest first, for FormatDuration.
constexpr DurationUnit kDurationUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
}  // namespace

std::optional<TimeMicros> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t unit_seconds = 1;
  for (const DurationUnit& unit : kDurationUnits) {
    if (text.back() == unit.suffix) {
      unit_seconds = unit.seconds;
      text.remove_suffix(1);
      break;
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(AbslView(text), &value) || value < 1 ||
      value > kDurationSecondsMax / unit_seconds) {
    return std::nullopt;
  }
  return value * unit_seconds * kMicrosPerSecond;
}

std::string FormatDuration(TimeMicros micros) {
  const int64_t seconds = micros / kMicrosPerSecond;
  for (const DurationUnit& unit : kDurationUnits) {
    if (seconds % unit.seconds == 0)
      return StrCat(seconds / unit.seconds, std::string(1, unit.suffix));
  }
  return StrCat(seconds, "s");
}

}  // namespace ledger
