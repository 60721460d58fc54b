#include "server/target.h"

#include "absl/strings/str_split.h"

namespace ledger::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` in a query. False on a broken escape or a NUL byte.
bool Decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return false;
    out->push_back(c);
  }
  return true;
}

}  // namespace

Target ParseTarget(std::string_view target) {
  Target t;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  t.valid = Decode(path, false, &t.path);
  for (absl::string_view raw :
       absl::StrSplit(absl::string_view(path.data(), path.size()), '/', absl::SkipEmpty())) {
    std::string segment;
    if (!Decode(std::string_view(raw.data(), raw.size()), false, &segment)) t.valid = false;
    t.segments.push_back(std::move(segment));
  }
  if (q == std::string_view::npos) return t;
  const std::string_view query = target.substr(q + 1);
  for (absl::string_view pair :
       absl::StrSplit(absl::string_view(query.data(), query.size()), '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    std::string name;
    std::string value;
    const absl::string_view raw_name = pair.substr(0, eq);
    const absl::string_view raw_value =
        eq == absl::string_view::npos ? absl::string_view() : pair.substr(eq + 1);
    if (!Decode(std::string_view(raw_name.data(), raw_name.size()), true, &name) ||
        !Decode(std::string_view(raw_value.data(), raw_value.size()), true, &value)) {
      t.valid = false;
    }
    t.query[name] = value;  // A repeated parameter: the last one counts.
  }
  return t;
}

}  // namespace ledger::server
