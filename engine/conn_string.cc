#include "engine/conn_string.h"

#include <regex>

namespace ledger {

std::string MaskPassword(std::string_view conn) {
  static const std::regex kUserInfo(R"(^([a-z]+://[^:/@?]*):[^@/?]*@)", std::regex::icase);
  static const std::regex kKeyValue(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*))",
                                    std::regex::icase);
  std::string out = std::regex_replace(std::string(conn), kUserInfo, "$1:****@");
  return std::regex_replace(out, kKeyValue, "$1****");
}

}  // namespace ledger
