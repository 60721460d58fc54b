// LineReader: reads newline-terminated lines from a stream with a bound on what one line may hold.
//
// A line longer than `max_bytes` is consumed to its end but not kept, and reported as too long, so
// one hostile line neither exhausts memory nor hides the lines after it. A trailing '\r' is
// removed.
#ifndef LEDGER_ENGINE_LINE_READER_H_
#define LEDGER_ENGINE_LINE_READER_H_

#include <cstdint>
#include <istream>
#include <string>

namespace ledger {

class LineReader {
 public:
  // `in` must outlive the reader.
  LineReader(std::istream& in, size_t max_bytes) : in_(in), max_bytes_(max_bytes) {}

  struct Line {
    int64_t number = 0;  // 1-based.
    std::string text;    // Empty when too_long.
    bool too_long = false;
    size_t length = 0;  // Bytes in the line as read (without the newline).
  };

  // Reads the next line; false at end of input.
  bool Next(Line* line);

 private:
  std::istream& in_;
  size_t max_bytes_;
  int64_t number_ = 0;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_LINE_READER_H_
