// Translation of libpqxx exceptions into absl::Status, at the one PostgreSQL boundary.
//
// The canonical codes tell the caller what to do: kUnavailable (connection lost, including libpq's
// own errors without SQLSTATE and libpqxx's failures reading or writing COPY data: retry the call),
// kAborted (serialization failure or deadlock: retry the transaction), kUnknown (the commit's
// outcome is unknown: resolve through idempotency keys, never by guessing), kPermissionDenied,
// kResourceExhausted (disk full), kFailedPrecondition (read-only database, constraint violated,
// the ledger's schema missing: the message then says to run `ledger migrate`), kInternal otherwise.
#ifndef LEDGER_ENGINE_PG_PG_ERRORS_H_
#define LEDGER_ENGINE_PG_PG_ERRORS_H_

#include <exception>
#include <string_view>

#include "absl/status/status.h"

namespace ledger::pg {

absl::Status TranslateException(const std::exception& e, std::string_view context);

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_PG_ERRORS_H_
