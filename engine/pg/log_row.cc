#include "engine/pg/log_row.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "engine/hash_chain.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger::pg {
namespace {

// Where encoded fields go: a COPY text line, or the members of a JSON object (a value's text as a
// JSON string, NULL as null; PostgreSQL's json_populate_recordset reads each with the column type's
// own input function, as COPY does).
struct CopySink {
  std::string* line;
  void Put(const LogColumn&, const std::optional<std::string_view>& v) { PutCopyField(v, line); }
};
struct JsonSink {
  std::string* out;
  void Put(const LogColumn& c, const std::optional<std::string_view>& v) {
    if (out->back() != '{') *out += ',';
    PutJsonString(c.name, out);
    *out += ':';
    if (v) {
      PutJsonString(*v, out);
    } else {
      *out += "null";
    }
  }
};

// Encoding one field: NULL for an empty optional, else the value's text.
template <typename Sink>
void Encode(const LogColumn& c, int64_t v, Sink& s) {
  s.Put(c, c.timestamp ? FormatPgTimestamp(v) : StrCat(v));
}
template <typename Sink>
void Encode(const LogColumn& c, int32_t v, Sink& s) {
  s.Put(c, StrCat(v));
}
template <typename Sink>
void Encode(const LogColumn& c, const std::string& v, Sink& s) {
  s.Put(c, v);
}
template <typename Sink>
void Encode(const LogColumn& c, Action v, Sink& s) {
  s.Put(c, ActionName(v));
}
template <typename Sink>
void Encode(const LogColumn& c, Choice v, Sink& s) {
  s.Put(c, ChoiceName(v));
}
template <typename Sink>
void Encode(const LogColumn& c, Severity v, Sink& s) {
  s.Put(c, SeverityName(v));
}
template <typename Sink>
void Encode(const LogColumn& c, const Micros& v, Sink& s) {
  s.Put(c, StrCat(v.value()));
}
template <typename Sink>
void Encode(const LogColumn& c, const Sha256& v, Sink& s) {
  s.Put(c, ToHex(v));
}
template <typename T, typename Sink>
void Encode(const LogColumn& c, const std::optional<T>& v, Sink& s) {
  if (v) {
    Encode(c, *v, s);
  } else {
    s.Put(c, std::nullopt);
  }
}

// Decoding one field from its (non-NULL) text; false when the text is not such a value.
bool Decode(const LogColumn& c, std::string_view t, int64_t* out) {
  if (c.timestamp) {
    std::optional<TimeMicros> time = ParsePgTimestamp(t);
    if (time) *out = *time;
    return time.has_value();
  }
  return absl::SimpleAtoi(absl::string_view(t.data(), t.size()), out);
}
bool Decode(const LogColumn&, std::string_view t, int32_t* out) {
  return absl::SimpleAtoi(absl::string_view(t.data(), t.size()), out);
}
bool Decode(const LogColumn&, std::string_view t, std::string* out) {
  out->assign(t.data(), t.size());
  return true;
}
template <typename T>
bool DecodeNamed(std::optional<T> parsed, T* out) {
  if (parsed) *out = *parsed;
  return parsed.has_value();
}
bool Decode(const LogColumn&, std::string_view t, Action* out) {
  return DecodeNamed(ParseAction(t), out);
}
bool Decode(const LogColumn&, std::string_view t, Choice* out) {
  return DecodeNamed(ParseChoice(t), out);
}
bool Decode(const LogColumn&, std::string_view t, Severity* out) {
  return DecodeNamed(ParseSeverity(t), out);
}
bool Decode(const LogColumn& c, std::string_view t, Micros* out) {
  int64_t v = 0;
  if (!Decode(c, t, &v)) return false;
  *out = Micros(v);
  return true;
}
bool Decode(const LogColumn&, std::string_view t, Sha256* out) {
  return DecodeNamed(FromHex(t), out);
}

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

// Field `i` of `fields` into `out`; the error names the row's position (column 0, parsed first).
template <typename T>
absl::Status DecodeField(const Fields& fields, int i, int64_t seq, T* out) {
  const LogColumn& c = kLogColumns[static_cast<size_t>(i)];
  const std::string_view text = fields.text(i);
  bool ok = false;
  if constexpr (IsOptional<T>::value) {
    out->reset();
    if (fields.null(i)) return absl::OkStatus();
    ok = Decode(c, text, &out->emplace());
  } else {
    ok = !fields.null(i) && Decode(c, text, out);
  }
  if (ok) return absl::OkStatus();
  return absl::DataLossError(StrCat("log row at seq ", seq, " has an unreadable ", c.name, ": ",
                                    fields.null(i) ? "NULL" : text));
}

template <typename Tuple, size_t... I>
absl::Status DecodeAll(const Fields& fields, Tuple&& out, std::index_sequence<I...>) {
  absl::Status status;
  const int64_t& seq = std::get<0>(out);
  // In column order, stopping at the first failure; seq (column 0) comes first.
  (void)((status = DecodeField(fields, static_cast<int>(I), seq, &std::get<I>(out)), status.ok()) &&
         ...);
  return status;
}

template <typename Tuple, typename Sink, size_t... I>
void EncodeAll(const Tuple& fields, Sink& sink, std::index_sequence<I...>) {
  (Encode(kLogColumns[I], std::get<I>(fields), sink), ...);
}

constexpr auto kColumnIndexes = std::make_index_sequence<kLogColumns.size()>();

}  // namespace

const std::vector<std::string>& LogCopyColumns() {
  static const std::vector<std::string>* columns = [] {
    auto* out = new std::vector<std::string>();
    for (const LogColumn& c : kLogColumns) out->push_back(QuoteIdentifier(c.name));
    return out;
  }();
  return *columns;
}

const std::string& LogSelectList() {
  static const std::string* list = [] {
    auto* out = new std::string();
    for (const std::string& c : LogCopyColumns()) *out += StrCat(out->empty() ? "" : ", ", c);
    return out;
  }();
  return *list;
}

absl::StatusOr<LoggedEvent> ParseLogRow(const Fields& fields) {
  LoggedEvent row;
  absl::Status status = DecodeAll(fields, LogRowFields(row), kColumnIndexes);
  if (!status.ok()) return status;
  return row;
}

void EncodeLogRow(const LoggedEvent& row, std::string* line) {
  line->clear();
  CopySink sink{line};
  EncodeAll(LogRowFields(row), sink, kColumnIndexes);
}

void EncodeLogRowsJson(std::span<const LoggedEvent> rows, std::string* out) {
  out->clear();
  *out += '[';
  for (const LoggedEvent& row : rows) {
    if (out->size() > 1) *out += ',';
    *out += '{';
    JsonSink sink{out};
    EncodeAll(LogRowFields(row), sink, kColumnIndexes);
    *out += '}';
  }
  *out += ']';
}

void PutJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += ch;
    } else if (c < 0x20) {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 0xf];
    } else {
      *out += ch;  // UTF-8 passes through: the event decoder admitted only valid UTF-8.
    }
  }
  *out += '"';
}

}  // namespace ledger::pg
