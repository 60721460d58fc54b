#include "engine/check.h"

#include <cstdio>
#include <cstdlib>

namespace ledger::check_internal {

void Fail(const char* file, int line, const char* condition, const std::string& message) {
  std::fprintf(stderr, "ledger: check failed at %s:%d: %s%s%s\n", file, line, condition,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ledger::check_internal
