#include "engine/event_codec.h"

#include <array>
#include <cmath>
#include <initializer_list>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "boost/json.hpp"
#include "engine/hash_chain.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "engine/utf8.h"

namespace ledger {
namespace {

namespace json = boost::json;

// Echoed values are cut to this many bytes (on a character boundary) so one hostile line cannot
// flood the error output.
constexpr size_t kEchoBytesMax = 80;

// `text` cut to kEchoBytesMax bytes on a character boundary, "..." marking a cut.
std::string Clip(std::string_view text) {
  if (text.size() <= kEchoBytesMax) return std::string(text);
  return std::string(Utf8Prefix(text, kEchoBytesMax)) + "...";
}

std::string Echo(const json::value& value) { return Clip(json::serialize(value)); }

Rejection Reject(ErrorCode code, std::string message) {
  return Rejection{code, std::move(message)};
}

// The fields each action takes; everything else on the line is UNKNOWN_FIELD.
struct FieldSpec {
  std::initializer_list<std::string_view> required;
  std::initializer_list<std::string_view> optional;
};

const FieldSpec& SpecFor(Action action) {
  static const std::array<FieldSpec, kActionCount> kSpecs = {{
      {{"marketId", "question", "endDate", "contractAddress", "gnosisSafeAddress"}, {"startDate"}},
      {{"marketId"}, {"reason"}},
      {{"marketId", "winner"}, {}},
      {{"betId", "marketId", "wallet", "choice", "amount", "betNumber"}, {"txHash"}},
      {{"betId"}, {"txHash"}},
      {{"betId", "reason"}, {"severity"}},
      {{"betId", "clawbackAmount"}, {"reason"}},
      {{"betId", "clawbackTxHash"}, {}},
      {{"wallet"}, {"reason"}},
  }};
  return kSpecs[static_cast<size_t>(action)];
}

constexpr std::array<std::string_view, 3> kCommonFields = {"action", "createdAt", "eventId"};

bool Contains(std::initializer_list<std::string_view> list, std::string_view key) {
  for (std::string_view item : list) {
    if (item == key) return true;
  }
  return false;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool IsHex(std::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// 0x followed by exactly `hex_digits` hex digits, any case; returned lowercase.
std::optional<std::string> ParseHexId(std::string_view text, size_t hex_digits) {
  if (text.size() != hex_digits + 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return std::nullopt;
  }
  if (!IsHex(text.substr(2))) return std::nullopt;
  std::string out = AsciiLower(text);
  out[1] = 'x';
  return out;
}

std::optional<std::string> ParseUuid(std::string_view text) {
  static constexpr std::array<size_t, 5> kGroups = {8, 4, 4, 4, 12};
  if (text.size() != 36) return std::nullopt;
  size_t pos = 0;
  for (size_t i = 0; i < kGroups.size(); ++i) {
    if (i > 0) {
      if (text[pos] != '-') return std::nullopt;
      ++pos;
    }
    if (!IsHex(text.substr(pos, kGroups[i]))) return std::nullopt;
    pos += kGroups[i];
  }
  return AsciiLower(text);
}

// The text of the value of top-level `key` in the JSON object `line` (a key appears once:
// duplicates are refused before), as written; nullopt when it is not there. Strings and nesting are
// skipped.
std::optional<std::string_view> TopLevelValueText(std::string_view line, std::string_view key) {
  int depth = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (c != '"') continue;
    const size_t start = i + 1;
    for (++i; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\') ++i;
    }
    if (depth != 1 || line.substr(start, i - start) != key) continue;
    size_t v = line.find_first_not_of(" \t\r\n", i + 1);
    if (v == std::string_view::npos || line[v] != ':') continue;
    v = line.find_first_not_of(" \t\r\n", v + 1);
    if (v == std::string_view::npos) return std::nullopt;
    const size_t end = line.find_first_of(",} \t\r\n", v);
    return line.substr(v, (end == std::string_view::npos ? line.size() : end) - v);
  }
  return std::nullopt;
}

// Reads the fields of one object, turning each problem into a Rejection. Methods return false after
// recording the first problem; the caller stops at the first false.
class FieldReader {
 public:
  FieldReader(const json::object& object, std::string_view line) : object_(object), line_(line) {}

  const std::optional<Rejection>& rejection() const { return rejection_; }

  // Returns the value of `key`, or nullptr when absent or JSON null.
  const json::value* Find(std::string_view key) const {
    const json::value* value = object_.if_contains(key);
    return (value == nullptr || value->is_null()) ? nullptr : value;
  }

  // A value for an error message: a number as the input wrote it ("10.5", not 1.05E1), anything
  // else as JSON; cut on a character boundary.
  std::string Shown(std::string_view key, const json::value& value) const {
    if (value.is_number()) {
      if (std::optional<std::string_view> raw = TopLevelValueText(line_, key)) return Clip(*raw);
    }
    return Echo(value);
  }

  bool Fail(ErrorCode code, std::string message) {
    if (!rejection_) rejection_ = Reject(code, std::move(message));
    return false;
  }

  bool String(std::string_view key, const json::value& value, std::string_view* out) {
    if (!value.is_string()) {
      return Fail(ErrorCode::kFieldType,
                  StrCat(key, ": expected a string, got ", Shown(key, value)));
    }
    const json::string& s = value.get_string();
    *out = std::string_view(s.data(), s.size());
    return true;
  }

  bool Id(std::string_view key, std::optional<std::string>* out) {
    const json::value* value = Find(key);
    if (value == nullptr) return true;
    std::string_view text;
    if (!String(key, *value, &text)) return false;
    bool printable = !text.empty() && text.size() <= kIdBytesMax;
    for (char c : text) printable = printable && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
    if (!printable) {
      return Fail(ErrorCode::kInvalidId,
                  StrCat(key, ": expected 1 to ", kIdBytesMax,
                         " printable characters without spaces, got ", Shown(key, *value)));
    }
    *out = std::string(text);
    return true;
  }

  bool Text(std::string_view key, std::optional<std::string>* out) {
    const json::value* value = Find(key);
    if (value == nullptr) return true;
    std::string_view text;
    if (!String(key, *value, &text)) return false;
    // PostgreSQL TEXT cannot hold NUL; an empty reason or question explains nothing.
    if (text.empty() || text.size() > kTextBytesMax || text.find('\0') != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidText,
                  StrCat(key, ": expected 1 to ", kTextBytesMax, " bytes of text without NUL, got ",
                         Shown(key, *value)));
    }
    *out = std::string(text);
    return true;
  }

  bool Hex(std::string_view key, size_t digits, ErrorCode code, std::optional<std::string>* out) {
    const json::value* value = Find(key);
    if (value == nullptr) return true;
    std::string_view text;
    if (!String(key, *value, &text)) return false;
    std::optional<std::string> parsed = ParseHexId(text, digits);
    if (!parsed) {
      return Fail(
          code, StrCat(key, ": expected 0x and ", digits, " hex digits, got ", Shown(key, *value)));
    }
    *out = std::move(parsed);
    return true;
  }

  bool Time(std::string_view key, std::optional<TimeMicros>* out) {
    const json::value* value = Find(key);
    if (value == nullptr) return true;
    std::string_view text;
    if (!String(key, *value, &text)) return false;
    std::optional<TimeMicros> parsed = ParseRfc3339(text);
    if (!parsed) {
      return Fail(ErrorCode::kInvalidTimestamp,
                  StrCat(key,
                         ": expected an RFC 3339 time with a zone, at most microseconds, "
                         "between 2000 and 2200, got ",
                         Shown(key, *value)));
    }
    *out = parsed;
    return true;
  }

  // A positive micro-USDT amount: a JSON integer in [1, 2^63-1].
  bool Amount(std::string_view key, std::optional<Micros>* out) {
    const json::value* value = Find(key);
    if (value == nullptr) return true;
    if (value->is_int64()) {
      if (value->get_int64() < 1) {
        return Fail(ErrorCode::kAmountOutOfRange,
                    StrCat(key, ": must be at least 1 micro-USDT, got ", Shown(key, *value)));
      }
      *out = Micros(value->get_int64());
      return true;
    }
    if (value->is_uint64() ||
        (value->is_double() && std::isfinite(value->get_double()) &&
         std::trunc(value->get_double()) == value->get_double() && value->get_double() > 9.2e18)) {
      return Fail(ErrorCode::kAmountOutOfRange,
                  StrCat(key, ": must be at most 2^63-1 micro-USDT, got ", Shown(key, *value)));
    }
    return Fail(ErrorCode::kAmountNotInteger,
                StrCat(key, ": expected a JSON integer of micro-USDT (6 decimals), got ",
                       Shown(key, *value)));
  }

  bool BetNumber(std::optional<int32_t>* out) {
    const json::value* value = Find("betNumber");
    if (value == nullptr) return true;
    if (!value->is_int64() && !value->is_uint64()) {
      return Fail(ErrorCode::kFieldType,
                  StrCat("betNumber: expected a JSON integer, got ", Shown("betNumber", *value)));
    }
    if (!value->is_int64() || value->get_int64() < kBetNumberMin ||
        value->get_int64() > kBetNumberMax) {
      return Fail(ErrorCode::kInvalidBetNumber,
                  StrCat("betNumber: must be ", kBetNumberMin, " to ", kBetNumberMax, ", got ",
                         Shown("betNumber", *value)));
    }
    *out = static_cast<int32_t>(value->get_int64());
    return true;
  }

  template <typename Enum>
  bool Enumerated(std::string_view key, ErrorCode code, std::string_view expected,
                  std::optional<Enum> (*parse)(std::string_view), std::optional<Enum>* out) {
    const json::value* value = Find(key);
    if (value == nullptr) return true;
    std::string_view text;
    if (!String(key, *value, &text)) return false;
    std::optional<Enum> parsed = parse(text);
    if (!parsed) {
      return Fail(code, StrCat(key, ": expected ", expected, ", got ", Shown(key, *value)));
    }
    *out = parsed;
    return true;
  }

 private:
  const json::object& object_;
  std::string_view line_;
  std::optional<Rejection> rejection_;
};

// Checks that every field is known for `action` and every required field is present.
std::optional<Rejection> CheckFieldSet(const json::object& object, Action action) {
  const FieldSpec& spec = SpecFor(action);
  for (const auto& [key, value] : object) {
    std::string_view name(key.data(), key.size());
    if (Contains(spec.required, name) || Contains(spec.optional, name)) continue;
    bool common = false;
    for (std::string_view c : kCommonFields) common = common || c == name;
    if (!common) {
      return Reject(ErrorCode::kUnknownField, StrCat("field ", json::serialize(json::string(key)),
                                                     " is not part of ", ActionName(action)));
    }
  }
  for (std::string_view name : spec.required) {
    const json::value* value = object.if_contains(name);
    if (value == nullptr || value->is_null()) {
      return Reject(ErrorCode::kMissingField, StrCat(ActionName(action), " requires field ", name));
    }
  }
  return std::nullopt;
}

bool ReadFields(FieldReader& r, Event& e) {
  using ledger::ParseChoice;
  using ledger::ParseSeverity;
  return r.Id("betId", &e.bet_id) && r.Id("marketId", &e.market_id) &&
         r.Hex("wallet", 40, ErrorCode::kInvalidWallet, &e.wallet) &&
         r.Enumerated<Choice>("choice", ErrorCode::kInvalidChoice, "YES or NO", &ParseChoice,
                              &e.choice) &&
         r.Amount("amount", &e.amount) && r.BetNumber(&e.bet_number) &&
         r.Hex("txHash", 64, ErrorCode::kInvalidTxHash, &e.tx_hash) &&
         r.Text("reason", &e.reason) &&
         r.Enumerated<Severity>("severity", ErrorCode::kInvalidSeverity,
                                "LOW, MEDIUM, HIGH or CRITICAL", &ParseSeverity, &e.severity) &&
         r.Amount("clawbackAmount", &e.clawback_amount) &&
         r.Hex("clawbackTxHash", 64, ErrorCode::kInvalidTxHash, &e.clawback_tx_hash) &&
         r.Enumerated<Choice>("winner", ErrorCode::kInvalidChoice, "YES or NO", &ParseChoice,
                              &e.winner) &&
         r.Text("question", &e.question) && r.Time("startDate", &e.start_date) &&
         r.Time("endDate", &e.end_date) &&
         r.Hex("contractAddress", 40, ErrorCode::kInvalidAddress, &e.contract_address) &&
         r.Hex("gnosisSafeAddress", 40, ErrorCode::kInvalidAddress, &e.gnosis_safe_address);
}

}  // namespace

// The first key of the top-level object that appears twice, unescaped; nullopt when none does.
// REQUIRES: `line` is valid JSON whose root is an object of `distinct_keys` keys. Boost.JSON keeps
// one value per key without saying so, so the raw text is scanned: a string at depth 1 that starts
// where a key is expected (after '{' or ',') is a key. Only when there are more of those than
// distinct keys are the keys unescaped and compared.
std::optional<std::string> FirstDuplicateKey(std::string_view line, size_t distinct_keys) {
  std::vector<std::string_view> keys;
  int depth = 0;
  bool expecting_key = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      const size_t start = i;
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\') ++i;
      }
      if (depth == 1 && expecting_key) keys.push_back(line.substr(start, i - start + 1));
      expecting_key = false;
    } else if (c == '{' || c == '[') {
      ++depth;
      expecting_key = depth == 1;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expecting_key = true;
    }
  }
  if (keys.size() <= distinct_keys) return std::nullopt;
  absl::flat_hash_set<std::string> seen;
  for (std::string_view raw : keys) {
    json::error_code ec;
    json::value key = json::parse(raw, ec);
    if (ec || !key.is_string()) continue;
    std::string name(key.get_string().data(), key.get_string().size());
    if (!seen.insert(name).second) return name;
  }
  return std::nullopt;
}

DecodeResult DecodeEventLine(std::string_view line, TimeMicros now) {
  if (line.size() > kLineBytesMax) {
    return Reject(ErrorCode::kLineTooLong,
                  StrCat("line is ", line.size(), " bytes, the limit is ", kLineBytesMax));
  }
  json::parse_options options;
  options.max_depth = kJsonDepthMax;
  json::error_code ec;
  json::value root = json::parse(line, ec, json::storage_ptr(), options);
  if (ec) {
    if (std::optional<size_t> bad = FirstInvalidUtf8(line)) {
      return Reject(ErrorCode::kMalformedJson,
                    absl::StrFormat("not valid JSON: not UTF-8 at byte %d (0x%02X)", *bad + 1,
                                    static_cast<uint8_t>(line[*bad])));
    }
    return Reject(ErrorCode::kMalformedJson, StrCat("not valid JSON: ", ec.message()));
  }
  if (!root.is_object()) {
    return Reject(ErrorCode::kNotAnObject, StrCat("expected a JSON object, got ", Echo(root)));
  }
  const json::object& object = root.get_object();
  if (std::optional<std::string> key = FirstDuplicateKey(line, object.size())) {
    return Reject(ErrorCode::kDuplicateKey, StrCat("field ", *key, " appears more than once"));
  }
  const json::value* action_value = object.if_contains("action");
  if (action_value == nullptr || action_value->is_null()) {
    return Reject(ErrorCode::kMissingAction, "field action is required");
  }
  std::optional<Action> action;
  if (action_value->is_string()) {
    const json::string& s = action_value->get_string();
    action = ParseAction(std::string_view(s.data(), s.size()));
  }
  if (!action) {
    return Reject(ErrorCode::kUnknownAction, StrCat("unknown action ", Echo(*action_value)));
  }
  if (std::optional<Rejection> bad = CheckFieldSet(object, *action)) return *std::move(bad);

  Event event;
  event.action = *action;
  FieldReader reader(object, line);
  std::optional<TimeMicros> created_at;
  std::optional<std::string> event_id;
  bool ok = reader.Time("createdAt", &created_at);
  if (ok) {
    if (const json::value* id = reader.Find("eventId")) {
      std::string_view text;
      ok = reader.String("eventId", *id, &text);
      if (ok && !(event_id = ParseUuid(text))) {
        ok = reader.Fail(ErrorCode::kInvalidEventId,
                         StrCat("eventId: expected a UUID, got ", Echo(*id)));
      }
    }
  }
  ok = ok && ReadFields(reader, event);
  if (!ok) return *reader.rejection();

  if (event.action == Action::kWalletUnflagged && !created_at && !event_id) {
    // A wallet can be unflagged again later: without a time or an id, a re-sent unflag could not be
    // told apart from a new one, and exactly-once would be lost.
    return Reject(ErrorCode::kMissingField,
                  "WALLET_UNFLAGGED requires createdAt or eventId (its idempotency key)");
  }
  event.event_id = std::move(event_id);
  event.created_at_given = created_at.has_value();
  event.created_at = created_at.value_or(now);
  if (event.action == Action::kFlagged && !event.severity) event.severity = Severity::kMedium;
  if (event.action == Action::kMarketCreated) {
    const TimeMicros start = event.start_date.value_or(event.created_at);
    if (*event.end_date <= start) {
      return Reject(ErrorCode::kEndBeforeStart,
                    StrCat("endDate ", FormatRfc3339(*event.end_date),
                           " is not after the market's start ", FormatRfc3339(start)));
    }
  }
  return event;
}

namespace {

void PutEventFields(const Event& e, json::object& o) {
  o["action"] = ActionName(e.action);
  if (e.event_id) o["eventId"] = *e.event_id;
  o["createdAt"] = FormatRfc3339(e.created_at);
  auto put_text = [&o](std::string_view key, const std::optional<std::string>& v) {
    if (v) o[key] = *v;
  };
  auto put_time = [&o](std::string_view key, const std::optional<TimeMicros>& v) {
    if (v) o[key] = FormatRfc3339(*v);
  };
  put_text("betId", e.bet_id);
  put_text("marketId", e.market_id);
  put_text("wallet", e.wallet);
  if (e.choice) o["choice"] = ChoiceName(*e.choice);
  if (e.amount) o["amount"] = e.amount->value();
  if (e.bet_number) o["betNumber"] = *e.bet_number;
  put_text("txHash", e.tx_hash);
  put_text("reason", e.reason);
  if (e.severity) o["severity"] = SeverityName(*e.severity);
  if (e.clawback_amount) o["clawbackAmount"] = e.clawback_amount->value();
  put_text("clawbackTxHash", e.clawback_tx_hash);
  if (e.winner) o["winner"] = ChoiceName(*e.winner);
  put_text("question", e.question);
  put_time("startDate", e.start_date);
  put_time("endDate", e.end_date);
  put_text("contractAddress", e.contract_address);
  put_text("gnosisSafeAddress", e.gnosis_safe_address);
}

}  // namespace

std::string EncodeEventJson(const Event& e) {
  json::object o;
  PutEventFields(e, o);
  return json::serialize(o);
}

std::string EncodeLoggedEventJson(const LoggedEvent& row) {
  json::object o;
  o["seq"] = row.seq;
  o["hash"] = ToHex(row.hash);
  o["prevHash"] = ToHex(row.prev_hash);
  o["id"] = row.id;
  o["identityKey"] = row.identity_key;
  o["streamId"] = row.stream_id;
  o["streamVersion"] = row.stream_version;
  o["recordedAt"] = FormatRfc3339(row.recorded_at);
  PutEventFields(row.event, o);
  return json::serialize(o);
}

}  // namespace ledger
