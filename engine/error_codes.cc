#include "engine/error_codes.h"

#include <initializer_list>

namespace ledger {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
#define LEDGER_ERROR_CASE(name, text) \
  case ErrorCode::name:               \
    return text;
    LEDGER_ERROR_CODES(LEDGER_ERROR_CASE)
#undef LEDGER_ERROR_CASE
  }
  return "UNKNOWN";
}

const std::initializer_list<ErrorCode>& AllErrorCodes() {
  static const std::initializer_list<ErrorCode> kAll = {
#define LEDGER_ERROR_LIST(name, text) ErrorCode::name,
      LEDGER_ERROR_CODES(LEDGER_ERROR_LIST)
#undef LEDGER_ERROR_LIST
  };
  return kAll;
}

}  // namespace ledger
