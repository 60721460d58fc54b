#include "engine/line_reader.h"

namespace ledger {

bool LineReader::Next(Line* line) {
  line->text.clear();
  line->too_long = false;
  line->length = 0;
  std::streambuf* buf = in_.rdbuf();
  bool any = false;
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in_.setstate(std::ios::eofbit);
      break;
    }
    any = true;
    if (c == '\n') break;
    ++line->length;
    if (line->too_long) continue;
    if (line->text.size() == max_bytes_ + 1) {  // +1 leaves room for a '\r' before '\n'.
      line->too_long = true;
      line->text.clear();
      continue;
    }
    line->text.push_back(static_cast<char>(c));
  }
  if (!any) return false;
  if (!line->text.empty() && line->text.back() == '\r') {
    line->text.pop_back();
    --line->length;
  }
  if (line->text.size() > max_bytes_) {
    line->too_long = true;
    line->text.clear();
  }
  line->number = ++number_;
  return true;
}

}  // namespace ledger
