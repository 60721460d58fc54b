// Stable error codes for rejected input lines.
//
// Every rejected line carries exactly one of these codes. They are part of the public contract
// (scripts and dashboards match on them), so a code is never renamed or reused; new codes are
// appended. The list with explanations lives in docs/error-codes.md;
// support/docs_list_every_error_code (tests/support_test.cc) checks the two agree.
#ifndef LEDGER_ENGINE_ERROR_CODES_H_
#define LEDGER_ENGINE_ERROR_CODES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ledger {

// X-macro: (enumerator, stable text code).
#define LEDGER_ERROR_CODES(X)                          \
  /* Shape of the line. */                             \
  X(kLineTooLong, "LINE_TOO_LONG")                     \
  X(kMalformedJson, "MALFORMED_JSON")                  \
  X(kNotAnObject, "NOT_AN_OBJECT")                     \
  X(kMissingAction, "MISSING_ACTION")                  \
  X(kUnknownAction, "UNKNOWN_ACTION")                  \
  X(kUnknownField, "UNKNOWN_FIELD")                    \
  X(kDuplicateKey, "DUPLICATE_KEY")                    \
  X(kMissingField, "MISSING_FIELD")                    \
  X(kFieldType, "FIELD_TYPE")                          \
  /* Values. */                                        \
  X(kAmountNotInteger, "AMOUNT_NOT_INTEGER")           \
  X(kAmountOutOfRange, "AMOUNT_OUT_OF_RANGE")          \
  X(kInvalidWallet, "INVALID_WALLET")                  \
  X(kInvalidAddress, "INVALID_ADDRESS")                \
  X(kInvalidTxHash, "INVALID_TX_HASH")                 \
  X(kInvalidTimestamp, "INVALID_TIMESTAMP")            \
  X(kInvalidEventId, "INVALID_EVENT_ID")               \
  X(kInvalidChoice, "INVALID_CHOICE")                  \
  X(kInvalidSeverity, "INVALID_SEVERITY")              \
  X(kInvalidBetNumber, "INVALID_BET_NUMBER")           \
  X(kInvalidText, "INVALID_TEXT")                      \
  X(kInvalidId, "INVALID_ID")                          \
  X(kEndBeforeStart, "END_BEFORE_START")               \
  /* Rules against the current state. */               \
  X(kMarketExists, "MARKET_EXISTS")                    \
  X(kMarketNotFound, "MARKET_NOT_FOUND")               \
  X(kMarketNotActive, "MARKET_NOT_ACTIVE")             \
  X(kMarketEnded, "MARKET_ENDED")                      \
  X(kMarketResolved, "MARKET_RESOLVED")                \
  X(kBetExists, "BET_EXISTS")                          \
  X(kBetNumberTaken, "BET_NUMBER_TAKEN")               \
  X(kBetNotFound, "BET_NOT_FOUND")                     \
  X(kBetNotPending, "BET_NOT_PENDING")                 \
  X(kBetNotConfirmed, "BET_NOT_CONFIRMED")             \
  X(kBetNotClawable, "BET_NOT_CLAWABLE")               \
  X(kClawbackExceedsAmount, "CLAWBACK_EXCEEDS_AMOUNT") \
  X(kTxHashMismatch, "TX_HASH_MISMATCH")               \
  X(kNotClawedBack, "NOT_CLAWED_BACK")                 \
  X(kAlreadyRefunded, "ALREADY_REFUNDED")              \
  X(kWalletNotFlagged, "WALLET_NOT_FLAGGED")           \
  X(kPoolOverflow, "POOL_OVERFLOW")                    \
  X(kIdentityConflict, "IDENTITY_CONFLICT")            \
  X(kAtomicRequestRejected, "ATOMIC_REQUEST_REJECTED")

enum class ErrorCode : uint8_t {
#define LEDGER_ERROR_ENUM(name, text) name,
  LEDGER_ERROR_CODES(LEDGER_ERROR_ENUM)
#undef LEDGER_ERROR_ENUM
};

// The stable text of `code`, e.g. "AMOUNT_NOT_INTEGER".
std::string_view ErrorCodeName(ErrorCode code);

// Every code, in declaration order (for docs and tests).
const std::initializer_list<ErrorCode>& AllErrorCodes();

// Why one input line was refused. `message` names the field and the offending value.
struct Rejection {
  ErrorCode code;
  std::string message;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_ERROR_CODES_H_
