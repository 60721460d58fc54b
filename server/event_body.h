// EventBody: the body of `POST /v1/events` cut into events, each the exact text `ledger append`
// would read as one line, so that the service and `ledger append` give the same verdict on the same
// event (one decoder, engine/event_codec.h). Pure; thread-safe.
//
//   application/json      one event object, or a JSON array of them
//   application/x-ndjson  JSON Lines: one event per line, blank lines skipped
//
// An array's elements are cut out of the text as they are, never parsed and printed again: a
// re-printed number (1.50 -> 1.5) would change what the decoder sees.
#ifndef LEDGER_SERVER_EVENT_BODY_H_
#define LEDGER_SERVER_EVENT_BODY_H_

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/appender.h"

namespace ledger::server {

struct EventBody {
  bool single = false;  // One object, not an array or lines: the status code follows its result.
  std::vector<InputLine>
      events;  // Numbered from 1 (array index, or the line of a JSON Lines body).
};

// Why a body is refused as a whole (nothing of it is appended).
struct BodyError {
  int http_status = 400;
  std::string code;  // Stable: docs/api.md.
  std::string message;
};

// Cuts `body` by `content_type`; at most `events_max` events.
std::variant<EventBody, BodyError> ParseEventBody(std::string_view content_type,
                                                  std::string_view body, size_t events_max);

// The media type of a Content-Type header, lower case, parameters dropped ("application/json").
std::string MediaType(std::string_view content_type);

}  // namespace ledger::server

#endif  // LEDGER_SERVER_EVENT_BODY_H_
