// The two absl::Status helpers that abseil 20220623 does not ship.
//
//   LEDGER_RETURN_IF_ERROR(store.Commit());
//   LEDGER_ASSIGN_OR_RETURN(auto conn, Connect(url));
#ifndef LEDGER_ENGINE_STATUS_MACROS_H_
#define LEDGER_ENGINE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LEDGER_RETURN_IF_ERROR(expr)                                  \
  do {                                                                \
    if (absl::Status ledger_status_ = (expr); !ledger_status_.ok()) { \
      return ledger_status_;                                          \
    }                                                                 \
  } while (0)

#define LEDGER_CONCAT_INNER_(a, b) a##b
#define LEDGER_CONCAT_(a, b) LEDGER_CONCAT_INNER_(a, b)

#define LEDGER_ASSIGN_OR_RETURN(lhs, expr) \
  LEDGER_ASSIGN_OR_RETURN_IMPL_(LEDGER_CONCAT_(ledger_statusor_, __LINE__), lhs, expr)

#define LEDGER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // LEDGER_ENGINE_STATUS_MACROS_H_
