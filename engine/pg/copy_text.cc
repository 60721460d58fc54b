#include "engine/pg/copy_text.h"

#include "engine/str_cat.h"

namespace ledger::pg {
namespace {

// The value of `d` as a digit of `base` (8 or 16), or -1.
int DigitValue(char d, int base) {
  const int v = d >= '0' && d <= '9'   ? d - '0'
                : d >= 'a' && d <= 'f' ? d - 'a' + 10
                : d >= 'A' && d <= 'F' ? d - 'A' + 10
                                       : 99;
  return v < base ? v : -1;
}

// Reads up to `digits_max` digits of `base` after field[*i] into one byte; advances *i past them.
// Returns false when there are none.
bool ReadEscapedByte(std::string_view field, size_t* i, int base, int digits_max, char* out) {
  int value = 0;
  int n = 0;
  while (n < digits_max && *i + 1 < field.size() && DigitValue(field[*i + 1], base) >= 0) {
    value = value * base + DigitValue(field[++*i], base);
    ++n;
  }
  *out = static_cast<char>(value);
  return n > 0;
}

}  // namespace

bool CopyLineFields::Parse(std::string_view line, size_t columns) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  fields_.clear();
  unescaped_used_ = 0;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    const std::string_view field =
        line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (field == "\\N") {
      fields_.emplace_back(std::nullopt);
    } else if (field.find('\\') == std::string_view::npos) {
      fields_.emplace_back(field);
    } else {
      fields_.emplace_back(Unescape(field));
    }
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return fields_.size() == columns;
}

// Undoes \b \f \n \r \t \v, \digits (octal), \xhex and \c for any other c.
std::string_view CopyLineFields::Unescape(std::string_view field) {
  if (unescaped_used_ == unescaped_.size()) unescaped_.emplace_back();
  std::string& out = unescaped_[unescaped_used_++];
  out.clear();
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out.push_back(field[i]);
      continue;
    }
    const char c = field[++i];
    char byte = 0;
    switch (c) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        out.push_back(ReadEscapedByte(field, &i, 16, 2, &byte) ? byte : 'x');
        break;
      default:
        if (DigitValue(c, 8) >= 0) {
          --i;  // The first digit is part of the number.
          ReadEscapedByte(field, &i, 8, 3, &byte);
          out.push_back(byte);
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

void PutCopyField(const std::optional<std::string_view>& value, std::string* line) {
  if (!line->empty()) line->push_back('\t');
  if (!value) {
    line->append("\\N");
    return;
  }
  for (char c : *value) {
    switch (c) {
      case '\\':
        line->append("\\\\");
        break;
      case '\t':
        line->append("\\t");
        break;
      case '\n':
        line->append("\\n");
        break;
      case '\r':
        line->append("\\r");
        break;
      default:
        line->push_back(c);
    }
  }
}

std::string QuoteIdentifier(std::string_view name) { return StrCat("\"", name, "\""); }

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += QuoteIdentifier(name);
  }
  return out;
}

}  // namespace ledger::pg
