// Target: a request target cut into its path segments and query parameters, percent-decoded. Pure;
// thread-safe.
//
//   Target t = ParseTarget("/v1/events?eventId=a%2Fb");   // t.segments {"v1","events"}
//   t.Param("eventId")                                     // "a/b"
#ifndef LEDGER_SERVER_TARGET_H_
#define LEDGER_SERVER_TARGET_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::server {

struct Target {
  std::string path;                   // Decoded.
  std::vector<std::string> segments;  // Of the path, decoded; empty segments dropped.
  std::map<std::string, std::string> query;
  bool valid = true;  // False when an escape is broken or decodes to a NUL byte.

  std::optional<std::string> Param(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return it->second;
  }
};

Target ParseTarget(std::string_view target);

}  // namespace ledger::server

#endif  // LEDGER_SERVER_TARGET_H_
