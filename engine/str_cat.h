// StrCat for std::string_view.
//
// Debian's abseil 20220623 is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW
// is 0), which does not convert from std::string_view, so absl::StrCat cannot take the
// std::string_view this codebase uses everywhere. This is the small subset we need.
//
//   std::string s = ledger::StrCat("line ", 12, ": ", code_name);
#ifndef LEDGER_ENGINE_STR_CAT_H_
#define LEDGER_ENGINE_STR_CAT_H_

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace ledger {
namespace str_cat_internal {

inline void Append(std::string* out, std::string_view piece) { out->append(piece); }
inline void Append(std::string* out, const std::string& piece) { out->append(piece); }
inline void Append(std::string* out, const char* piece) { out->append(piece); }
inline void Append(std::string* out, absl::string_view piece) {
  out->append(piece.data(), piece.size());
}
inline void Append(std::string* out, char c) { out->push_back(c); }
template <std::integral T>
requires(!std::same_as<T, char> && !std::same_as<T, bool>) void Append(std::string* out, T value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, end);
}

}  // namespace str_cat_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (str_cat_internal::Append(&out, args), ...);
  return out;
}

// An absl::string_view of `s`, for abseil's heterogeneous lookups.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace ledger

#endif  // LEDGER_ENGINE_STR_CAT_H_
