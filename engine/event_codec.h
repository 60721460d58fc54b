// JSON Lines codec for events: one JSON object per line in, one Event (or one Rejection) out.
//
// The decoder is strict, because whatever it lets through is in the audit trail forever: unknown
// fields, floats, numbers in strings and zoneless timestamps are refused with a stable code
// (error_codes.h). Pure functions; thread-safe.
//
//   DecodeResult r = DecodeEventLine(R"({"action":"MARKET_CLOSED","marketId":"m1"})", NowMicros());
//   if (auto* event = std::get_if<Event>(&r)) ...
#ifndef LEDGER_ENGINE_EVENT_CODEC_H_
#define LEDGER_ENGINE_EVENT_CODEC_H_

#include <string>
#include <string_view>
#include <variant>

#include "engine/error_codes.h"
#include "engine/event.h"

namespace ledger {

// Limits on one input line. A line is one event; the largest legitimate one (a market with a long
// question) is under 2 KiB, so 64 KiB leaves room without letting one line eat the batch's memory.
inline constexpr size_t kLineBytesMax = 64 * 1024;
// Events are flat objects; nesting is refused long before it could exhaust the parser's stack.
inline constexpr size_t kJsonDepthMax = 4;
// Identifiers (betId, marketId): the seed's are UUIDs and slugs.
inline constexpr size_t kIdBytesMax = 128;
// Free text (question, reason).
inline constexpr size_t kTextBytesMax = 4096;
// The seed allows 1..10 bets per wallet per market.
inline constexpr int32_t kBetNumberMin = 1;
inline constexpr int32_t kBetNumberMax = 10;

using DecodeResult = std::variant<Event, Rejection>;

// Decodes one line. `now` is used as createdAt when the line has none.
DecodeResult DecodeEventLine(std::string_view line, TimeMicros now);

// Encodes an event in the input format (one line, no newline). Derived fields are included when
// set. DecodeEventLine(EncodeEventJson(e)) == e for every event the decoder accepts, except that
// createdAt is then given (created_at_given): the encoder always writes it. (Checked by
// fuzz/decode_fuzz.cc.)
std::string EncodeEventJson(const Event& event);

// One log row as the change feed carries it (docs/feed.md): its position and chain fields ("seq",
// "hash", "prevHash", "id", "identityKey", "streamId", "streamVersion", "recordedAt") followed by
// the event's fields as EncodeEventJson writes them, derived fields included. One line, no newline.
std::string EncodeLoggedEventJson(const LoggedEvent& row);

}  // namespace ledger

#endif  // LEDGER_ENGINE_EVENT_CODEC_H_
