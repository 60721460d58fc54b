// The ledger's version, as every report states it: CMake's project VERSION (CMakeLists.txt), set at
// build time.
#ifndef LEDGER_ENGINE_VERSION_H_
#define LEDGER_ENGINE_VERSION_H_

namespace ledger {

#ifndef LEDGER_VERSION
#error "LEDGER_VERSION is defined by the build (CMakeLists.txt)"
#endif
inline constexpr char kLedgerVersion[] = LEDGER_VERSION;

}  // namespace ledger

#endif  // LEDGER_ENGINE_VERSION_H_
