// libFuzzer target: the event decoder on arbitrary bytes (properties in fuzz/properties.h).
// Built with clang only (cmake -DLEDGER_FUZZ=ON); run by `LEDGER_SLOW=1 scripts/test`.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz/properties.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto broken =
          ledger::fuzz::CheckDecode(std::string_view(reinterpret_cast<const char*>(data), size))) {
    std::fprintf(stderr, "%s\n", broken->c_str());
    std::abort();
  }
  return 0;
}
