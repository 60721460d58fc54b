// Helpers for PostgreSQL connection strings (URIs or key=value lists).
#ifndef LEDGER_ENGINE_CONN_STRING_H_
#define LEDGER_ENGINE_CONN_STRING_H_

#include <string>
#include <string_view>

namespace ledger {

// The connection string with any password replaced by "****", for logs and error messages.
// Handles "postgresql://user:secret@host/db", "password=secret" and "?password=secret".
std::string MaskPassword(std::string_view conn);

}  // namespace ledger

#endif  // LEDGER_ENGINE_CONN_STRING_H_
