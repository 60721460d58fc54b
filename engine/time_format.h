// Conversions between TimeMicros and the text forms the ledger reads and writes.
#ifndef LEDGER_ENGINE_TIME_FORMAT_H_
#define LEDGER_ENGINE_TIME_FORMAT_H_

#include <optional>
#include <string>
#include <string_view>

#include "engine/event.h"

namespace ledger {

// Accepted range for every timestamp in the input. Outside it a value is a typo or an attack, not a
// bet: 2000-01-01T00:00:00Z and 2200-01-01T00:00:00Z.
inline constexpr TimeMicros kTimestampMin = 946684800LL * 1000000;
inline constexpr TimeMicros kTimestampMax = 7258118400LL * 1000000;

// RFC 3339 with an explicit zone ("Z" or ±hh:mm), converted to UTC; nullopt when malformed,
// zoneless or outside [kTimestampMin, kTimestampMax).
std::optional<TimeMicros> ParseRfc3339(std::string_view text);

// "2026-02-16T09:00:00.123456Z" (fraction omitted when zero).
std::string FormatRfc3339(TimeMicros t);

// PostgreSQL TIMESTAMP text in UTC: "2026-02-16 09:00:00.123456".
std::string FormatPgTimestamp(TimeMicros t);
std::optional<TimeMicros> ParsePgTimestamp(std::string_view text);

// The longest duration the command line takes (--snapshot-interval, --snapshot-retention, rule
// windows): a year. Longer would put a market's whole life in one snapshot or one window.
inline constexpr int64_t kDurationSecondsMax = 366LL * 24 * 3600;

// "300", "300s", "5m", "1h", "30d": seconds, minutes, hours or days, at least one second and at
// most kDurationSecondsMax; nullopt otherwise.
std::optional<TimeMicros> ParseDuration(std::string_view text);

// The shortest text ParseDuration reads back to `micros` ("1h", "90s"). REQUIRES: whole seconds.
std::string FormatDuration(TimeMicros micros);

// The current time, truncated to microseconds.
TimeMicros NowMicros();

}  // namespace ledger

#endif  // LEDGER_ENGINE_TIME_FORMAT_H_
