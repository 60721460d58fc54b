// The text forms in which rows cross the PostgreSQL boundary: COPY's text format (both directions)
// and quoted identifiers. No libpqxx here: the log row codec (log_row.h) and the stores share it.
//
// COPY text format: fields separated by tabs, \N for NULL, backslash escapes for backslash, tab,
// newline and carriage return (and, on reading, every escape PostgreSQL may send).
// Thread-compatible.
#ifndef LEDGER_ENGINE_PG_COPY_TEXT_H_
#define LEDGER_ENGINE_PG_COPY_TEXT_H_

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::pg {

// One row's fields as text, whatever they were read with (a COPY line, a libpqxx result row).
class Fields {
 public:
  virtual ~Fields() = default;
  virtual bool null(int column) const = 0;
  virtual std::string_view text(int column) const = 0;
};

// A line of COPY ... TO STDOUT in text format, split and unescaped. Views point into the line, or
// into this object for the (rare) fields that had escapes: valid until the next Parse.
class CopyLineFields : public Fields {
 public:
  // False when the line does not have `columns` fields.
  bool Parse(std::string_view line, size_t columns);
  bool null(int column) const override { return !fields_[static_cast<size_t>(column)]; }
  std::string_view text(int column) const override {
    return fields_[static_cast<size_t>(column)].value_or(std::string_view());
  }

 private:
  std::string_view Unescape(std::string_view field);

  std::vector<std::optional<std::string_view>> fields_;
  std::deque<std::string> unescaped_;  // Stable addresses; reused across lines.
  size_t unescaped_used_ = 0;
};

// Appends one field (a tab first unless `line` is empty) in COPY text format; nullopt is NULL.
// UTF-8 is safe byte by byte because multi-byte sequences never contain ASCII bytes.
void PutCopyField(const std::optional<std::string_view>& value, std::string* line);

// "name": a double-quoted identifier. Only for the code's own table and column names, never input.
std::string QuoteIdentifier(std::string_view name);
// "a", "b", "c": the names quoted and joined.
std::string QuotedList(const std::vector<std::string>& names);

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_COPY_TEXT_H_
