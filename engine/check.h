// LEDGER_CHECK: an assertion that is on in every build (NDEBUG or not), for the invariants that
// matter to the money and the chain: positions gap-free, each row continuing the hash chain, pools
// never negative, a batch's row count. A failed check is a programmer error, not bad input or a
// damaged log (those are Rejection values and kDataLoss statuses): it prints where and why on
// stderr and aborts before anything more is written.
//
//   LEDGER_CHECK(row.seq == head_seq + 1, "seq ", row.seq, " after head ", head_seq);
//
// Checks come in pairs (TIGER_STYLE): what a writer checks before writing, a reader checks again
// after reading, with the same function (e.g. CheckLink in hash_chain.h) but as a status there,
// because what was read may have been altered by someone else.
#ifndef LEDGER_ENGINE_CHECK_H_
#define LEDGER_ENGINE_CHECK_H_

#include <string>

#include "engine/str_cat.h"

namespace ledger::check_internal {

// Prints "ledger: check failed at FILE:LINE: CONDITION: MESSAGE" and aborts.
[[noreturn]] void Fail(const char* file, int line, const char* condition,
                       const std::string& message);

}  // namespace ledger::check_internal

// The message arguments are evaluated only when the check fails.
#define LEDGER_CHECK(condition, ...)                                                   \
  do {                                                                                 \
    if (!(condition)) [[unlikely]] {                                                   \
      ::ledger::check_internal::Fail(__FILE__, __LINE__, #condition,                   \
                                     ::ledger::StrCat("" __VA_OPT__(, ) __VA_ARGS__)); \
    }                                                                                  \
  } while (0)

#endif  // LEDGER_ENGINE_CHECK_H_
