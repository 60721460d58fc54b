// The properties the fuzz targets check, shared with tests/fuzz_regression_test.cc (which replays
// the inputs kept in fuzz/regressions/ in every test run). Each returns what broke, or nullopt.
#ifndef LEDGER_FUZZ_PROPERTIES_H_
#define LEDGER_FUZZ_PROPERTIES_H_

#include <optional>
#include <string>
#include <string_view>

#include "engine/event_codec.h"
#include "engine/ledger_state.h"

namespace ledger::fuzz {

inline constexpr TimeMicros kFuzzNow = 1771232400000000;  // 2026-02-16T09:00:00Z

// Every input is an Event or a Rejection with a code and a message; an accepted event encodes to a
// line that decodes to the same event (whose createdAt is then given explicitly: the encoder always
// writes it).
inline std::optional<std::string> CheckDecode(std::string_view line) {
  DecodeResult decoded = DecodeEventLine(line, kFuzzNow);
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    if (rejection->message.empty() || ErrorCodeName(rejection->code).empty()) {
      return "rejection without a code or a message";
    }
    return std::nullopt;
  }
  Event event = std::get<Event>(decoded);
  DecodeResult again = DecodeEventLine(EncodeEventJson(event), kFuzzNow);
  event.created_at_given = true;
  if (!std::holds_alternative<Event>(again) || !(std::get<Event>(again) == event)) {
    return "encode then decode changed the event: " + EncodeEventJson(event);
  }
  return std::nullopt;
}

// Over a stream of lines: Validate and TryApply (the append and the replay paths) agree on every
// event, and no pool ever goes negative.
inline std::optional<std::string> CheckFold(std::string_view input) {
  LedgerState checked;  // Validate + Derive + Apply.
  LedgerState tried;    // TryApply, on the derived event when valid.
  while (!input.empty()) {
    const size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    DecodeResult decoded = DecodeEventLine(line, kFuzzNow);
    auto* event = std::get_if<Event>(&decoded);
    if (event == nullptr) continue;
    const bool valid = !checked.Validate(*event).has_value();
    Event derived = *event;
    if (valid) checked.Derive(&derived);
    const bool applied =
        !tried.TryApply(valid ? derived : *event, [](const BetState*) {}).has_value();
    if (applied != valid) return "Validate and TryApply disagree on: " + std::string(line);
    if (!valid) continue;
    checked.Apply(derived);
    bool negative = false;
    checked.ForEachMarket([&negative](const std::string&, const MarketState& m) {
      negative = negative || m.yes_pool.value() < 0 || m.no_pool.value() < 0;
    });
    if (negative) return "a pool went negative after: " + std::string(line);
  }
  return std::nullopt;
}

}  // namespace ledger::fuzz

#endif  // LEDGER_FUZZ_PROPERTIES_H_
