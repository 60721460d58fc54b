// Micros: an amount of USDT in micro-units (6 decimals), as the seed stores it in BIGINT columns.
//
// Never a double. Arithmetic is checked: a sum that would leave int64 range is reported, not
// wrapped.
#ifndef LEDGER_ENGINE_MONEY_H_
#define LEDGER_ENGINE_MONEY_H_

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

// For products and sums of amounts that may leave int64 range (shares of a pool, totals of many
// stakes). `__extension__` keeps -Wpedantic quiet about the GCC builtin.
__extension__ typedef __int128 Int128;

class Micros {
 public:
  static constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

  constexpr Micros() = default;
  constexpr explicit Micros(int64_t value) : value_(value) {}

  constexpr int64_t value() const { return value_; }

  // a + b, or nullopt when the result leaves int64 range.
  static constexpr std::optional<Micros> CheckedAdd(Micros a, Micros b) {
    int64_t out = 0;
    if (__builtin_add_overflow(a.value_, b.value_, &out)) return std::nullopt;
    return Micros(out);
  }
  // a - b, or nullopt when the result leaves int64 range.
  static constexpr std::optional<Micros> CheckedSub(Micros a, Micros b) {
    int64_t out = 0;
    if (__builtin_sub_overflow(a.value_, b.value_, &out)) return std::nullopt;
    return Micros(out);
  }

  constexpr auto operator<=>(const Micros&) const = default;

 private:
  int64_t value_ = 0;
};

inline constexpr int64_t kMicrosPerUsdt = 1000000;
inline constexpr int kUsdtDecimalsMax = 6;

// An amount as people and exports write it, converted exactly: digits alone are micro-USDT
// ("133350001"); digits, a point and 1 to kUsdtDecimalsMax digits are USDT ("133.350001",
// "133.35"). nullopt for anything else (a sign, an exponent, more decimals, a value past int64).
std::optional<Micros> ParseMicrosOrUsdt(std::string_view text);

// An amount in USDT with all six decimals, as a person reads it: "-1234567.890000", or with
// `thousands` "-1,234,567.890000". Exact (integers only); the inverse of ParseMicrosOrUsdt for the
// plain form.
std::string FormatUsdt(int64_t micros, bool thousands = false);

}  // namespace ledger

#endif  // LEDGER_ENGINE_MONEY_H_
