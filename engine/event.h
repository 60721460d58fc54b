// The ledger's events: what one line of input means once decoded, and what one row of the log
// holds.
//
// An `Event` is a plain value. The decoder (event_codec.h) produces it from JSON, the store reads
// it back from `BetHistory`, and the fold (ledger_state.h) consumes it. Text fields are already
// normalized (wallets and hashes lowercase), amounts are checked micro-USDT, times are UTC
// microseconds.
#ifndef LEDGER_ENGINE_EVENT_H_
#define LEDGER_ENGINE_EVENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/money.h"

namespace ledger {

enum class Action : uint8_t {
  kMarketCreated,
  kMarketClosed,
  kMarketResolved,
  kPlaced,
  kConfirmed,
  kFlagged,
  kClawedBack,
  kRefunded,
  kWalletUnflagged,
};
inline constexpr int kActionCount = 9;

enum class Choice : uint8_t { kYes, kNo };
enum class Severity : uint8_t { kLow, kMedium, kHigh, kCritical };
enum class BetStatus : uint8_t { kPending, kConfirmed, kFlagged, kClawedBack };
enum class MarketStatus : uint8_t { kActive, kClosed, kResolved };

std::string_view ActionName(Action action);
std::optional<Action> ParseAction(std::string_view text);
std::string_view ChoiceName(Choice choice);
std::optional<Choice> ParseChoice(std::string_view text);
std::string_view SeverityName(Severity severity);
std::optional<Severity> ParseSeverity(std::string_view text);
std::string_view BetStatusName(BetStatus status);
std::string_view MarketStatusName(MarketStatus status);

// True for MARKET_CREATED, MARKET_CLOSED and MARKET_RESOLVED.
bool IsMarketAction(Action action);
// True for PLACED, CONFIRMED, FLAGGED, CLAWED_BACK and REFUNDED.
bool IsBetAction(Action action);

// UTC time in microseconds since the Unix epoch: PostgreSQL's TIMESTAMP resolution.
using TimeMicros = int64_t;

// One event. Which optional fields are set depends on `action` (docs/event-format.md). For bet
// actions other than PLACED, `market_id` and `wallet` are derived from the bet when the event is
// appended; for WALLET_UNFLAGGED, `market_id` is the market of the flag it ends. Derived fields are
// not part of the event's identity payload (see StripDerived).
struct Event {
  Action action = Action::kPlaced;
  std::optional<std::string> event_id;  // Lowercase UUID, when the producer gave one.
  TimeMicros created_at = 0;            // When it happened (producer's clock).
  bool created_at_given = true;         // False when createdAt defaulted to the time of append.

  std::optional<std::string> bet_id;
  std::optional<std::string> market_id;
  std::optional<std::string> wallet;  // 0x + 40 lowercase hex.

  std::optional<Choice> choice;
  std::optional<Micros> amount;
  std::optional<int32_t> bet_number;
  std::optional<std::string> tx_hash;  // 0x + 64 lowercase hex.

  std::optional<std::string> reason;
  std::optional<Severity> severity;
  std::optional<Micros> clawback_amount;
  std::optional<std::string> clawback_tx_hash;

  std::optional<Choice> winner;
  std::optional<std::string> question;
  std::optional<TimeMicros> start_date;
  std::optional<TimeMicros> end_date;
  std::optional<std::string> contract_address;
  std::optional<std::string> gnosis_safe_address;

  bool operator==(const Event&) const = default;
};

// A copy of `event` without the fields the store derives from state and without createdAt: the
// payload that decides whether a re-sent event is a duplicate or a conflict.
Event StripDerived(const Event& event);

using Sha256 = std::array<uint8_t, 32>;

// One row of the log, as stored.
struct LoggedEvent {
  int64_t seq = 0;             // Gap-free global position, 1-based, in commit order.
  std::string id;              // BetHistory.id: deterministic, derived from the identity key.
  std::string identity_key;    // Idempotency identity (LedgerState::IdentityKey, ledger_state.h).
  std::string stream_id;       // "bet:<id>", "market:<id>" or "wallet:<address>".
  int32_t stream_version = 0;  // 1-based position within the stream.
  TimeMicros recorded_at = 0;  // Server time of the append.
  Event event;
  Sha256 prev_hash{};
  Sha256 hash{};

  bool operator==(const LoggedEvent&) const = default;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_EVENT_H_
