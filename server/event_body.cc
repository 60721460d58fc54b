#include "server/event_body.h"

#include "absl/strings/ascii.h"
#include "engine/event_codec.h"
#include "engine/str_cat.h"

namespace ledger::server {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimEnd(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsJsonSpace(s[i])) ++i;
  return i;
}

// The end of the JSON value starting at `i`: the first ',' or ']' outside strings and brackets, or
// npos when the text ends first. Says nothing of the value's validity (the decoder does).
size_t ValueEnd(std::string_view s, size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;
      --depth;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

InputLine Line(int64_t number, std::string_view text) {
  InputLine line;
  line.number = number;
  line.length = text.size();
  if (text.size() > kLineBytesMax) {
    line.too_long = true;
  } else {
    line.text = std::string(text);
  }
  return line;
}

BodyError Malformed(std::string message) {
  return BodyError{400, "MALFORMED_BODY", std::move(message)};
}

BodyError TooMany(size_t events_max) {
  return BodyError{413, "TOO_MANY_EVENTS",
                   StrCat("the request holds more than ", events_max, " events")};
}

std::variant<EventBody, BodyError> SplitArray(std::string_view body, size_t start,
                                              size_t events_max) {
  EventBody out;
  size_t i = SkipSpace(body, start + 1);
  if (i < body.size() && body[i] == ']') {
    if (SkipSpace(body, i + 1) != body.size()) return Malformed("text after the array");
    return out;
  }
  for (;;) {
    const size_t end = ValueEnd(body, i);
    if (end == std::string_view::npos) return Malformed("the array is not closed");
    std::string_view element = TrimEnd(body.substr(i, end - i));
    if (element.empty()) {
      return Malformed(StrCat("element ", out.events.size() + 1, " of the array is empty"));
    }
    if (out.events.size() == events_max) return TooMany(events_max);
    out.events.push_back(Line(static_cast<int64_t>(out.events.size()) + 1, element));
    if (body[end] == ']') {
      if (SkipSpace(body, end + 1) != body.size()) return Malformed("text after the array");
      return out;
    }
    i = SkipSpace(body, end + 1);
  }
}

std::variant<EventBody, BodyError> SplitLines(std::string_view body, size_t events_max) {
  EventBody out;
  int64_t number = 0;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    start = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (out.events.size() == events_max) return TooMany(events_max);
    out.events.push_back(Line(number, line));
  }
  return out;
}

}  // namespace

std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return absl::AsciiStrToLower(absl::string_view(type.data(), type.size()));
}

std::variant<EventBody, BodyError> ParseEventBody(std::string_view content_type,
                                                  std::string_view body, size_t events_max) {
  const std::string type = MediaType(content_type);
  if (type == "application/x-ndjson") return SplitLines(body, events_max);
  if (type != "application/json") {
    return BodyError{415, "UNSUPPORTED_MEDIA_TYPE",
                     StrCat("Content-Type must be application/json or application/x-ndjson, not \"",
                            type.substr(0, 100), "\"")};
  }
  const size_t start = SkipSpace(body, 0);
  if (start == body.size()) return Malformed("the body is empty");
  if (body[start] == '[') return SplitArray(body, start, events_max);
  EventBody out;
  out.single = true;
  if (events_max == 0) return TooMany(events_max);
  out.events.push_back(Line(1, TrimEnd(body.substr(start))));
  return out;
}

}  // namespace ledger::server
