#include "engine/money.h"

namespace ledger {
namespace {

// The value of `digits` (1 or more ASCII digits), or nullopt past int64.
std::optional<int64_t> Digits(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, c - '0', &value)) {
      return std::nullopt;
    }
  }
  return value;
}

}  // namespace

std::optional<Micros> ParseMicrosOrUsdt(std::string_view text) {
  const size_t point = text.find('.');
  if (point == std::string_view::npos) {
    std::optional<int64_t> micros = Digits(text);
    return micros ? std::optional<Micros>(Micros(*micros)) : std::nullopt;
  }
  const std::string_view decimals = text.substr(point + 1);
  if (decimals.empty() || decimals.size() > static_cast<size_t>(kUsdtDecimalsMax)) {
    return std::nullopt;
  }
  std::optional<int64_t> whole = Digits(text.substr(0, point));
  std::optional<int64_t> fraction = Digits(decimals);
  if (!whole || !fraction) return std::nullopt;
  for (size_t i = decimals.size(); i < static_cast<size_t>(kUsdtDecimalsMax); ++i) {
    *fraction *= 10;
  }
  int64_t micros = 0;
  if (__builtin_mul_overflow(*whole, kMicrosPerUsdt, &micros) ||
      __builtin_add_overflow(micros, *fraction, &micros)) {
    return std::nullopt;
  }
  return Micros(micros);
}

std::string FormatUsdt(int64_t micros, bool thousands) {
  const uint64_t magnitude =
      micros < 0 ? -static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  const std::string whole = std::to_string(magnitude / kMicrosPerUsdt);
  std::string out = micros < 0 ? "-" : "";
  for (size_t i = 0; i < whole.size(); ++i) {
    if (thousands && i > 0 && (whole.size() - i) % 3 == 0) out += ',';
    out += whole[i];
  }
  std::string fraction = std::to_string(magnitude % kMicrosPerUsdt);
  return out + "." + std::string(kUsdtDecimalsMax - fraction.size(), '0') + fraction;
}

}  // namespace ledger
