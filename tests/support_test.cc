// Specification of the small helpers: bounded line reading, password masking, timestamps, and the
// promise that docs/error-codes.md lists every stable error code.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "engine/conn_string.h"
#include "engine/error_codes.h"
#include "engine/event_codec.h"
#include "engine/line_reader.h"
#include "engine/money.h"
#include "engine/retry.h"
#include "engine/time_format.h"
#include "engine/utf8.h"
#include "sample/stream_generator.h"

namespace ledger {

BOOST_AUTO_TEST_SUITE(support)

BOOST_AUTO_TEST_CASE(line_reader_bounds_lines_and_keeps_numbering) {
  std::istringstream in("short\r\n" + std::string(50, 'x') + "\nafter\nlast");
  LineReader reader(in, 10);
  LineReader::Line line;
  BOOST_REQUIRE(reader.Next(&line));
  BOOST_TEST(line.text == "short");
  BOOST_TEST(line.number == 1);
  BOOST_REQUIRE(reader.Next(&line));
  BOOST_TEST(line.too_long);
  BOOST_TEST(line.length == 50u);
  BOOST_TEST(line.text.empty());
  BOOST_REQUIRE(reader.Next(&line));
  BOOST_TEST(line.text == "after");
  BOOST_TEST(line.number == 3);
  BOOST_REQUIRE(reader.Next(&line));
  BOOST_TEST(line.text == "last");  // The final line needs no newline.
  BOOST_TEST(line.number == 4);
  BOOST_TEST(!reader.Next(&line));
}

BOOST_AUTO_TEST_CASE(passwords_are_masked) {
  BOOST_TEST(MaskPassword("postgresql://app:s3cret@db:5432/ledger") ==
             "postgresql://app:****@db:5432/ledger");
  BOOST_TEST(MaskPassword("host=db password=s3cret user=app") == "host=db password=**** user=app");
  BOOST_TEST(MaskPassword("postgresql://db/ledger?user=a&password=s3cret") ==
             "postgresql://db/ledger?user=a&password=****");
  BOOST_TEST(MaskPassword("host=/tmp dbname=x") == "host=/tmp dbname=x");
}

BOOST_AUTO_TEST_CASE(timestamps_round_trip_through_postgres_text) {
  const TimeMicros t = *ParseRfc3339("2026-02-16T09:00:00.000123Z");
  BOOST_TEST(FormatPgTimestamp(t) == "2026-02-16 09:00:00.000123");
  BOOST_TEST(*ParsePgTimestamp(FormatPgTimestamp(t)) == t);
  BOOST_TEST(*ParsePgTimestamp("2026-02-16 09:00:00") == t - 123);
  BOOST_TEST(!ParseRfc3339("2026-02-16T09:00:00.0000001Z").has_value());  // Sub-microsecond.
  BOOST_TEST(!ParseRfc3339("2200-01-01T00:00:00Z").has_value());          // Out of range.
}

BOOST_AUTO_TEST_CASE(docs_list_every_error_code) {
  std::ifstream doc(std::string(LEDGER_SOURCE_DIR) + "/docs/error-codes.md");
  BOOST_REQUIRE_MESSAGE(doc, "docs/error-codes.md is missing");
  std::stringstream text;
  text << doc.rdbuf();
  for (ErrorCode code : AllErrorCodes()) {
    const std::string row = "| `" + std::string(ErrorCodeName(code)) + "` |";
    BOOST_TEST(text.str().find(row) != std::string::npos,
               "not documented: " << ErrorCodeName(code));
  }
}

BOOST_AUTO_TEST_CASE(amounts_in_micro_usdt_or_decimal_usdt_convert_exactly) {
  auto micros = [](std::string_view text) {
    std::optional<Micros> m = ParseMicrosOrUsdt(text);
    return m ? m->value() : int64_t{-1};
  };
  BOOST_TEST(micros("133350001") == 133350001);   // Digits alone: micro-USDT.
  BOOST_TEST(micros("133.350001") == 133350001);  // With a point: USDT.
  BOOST_TEST(micros("133.35") == 133350000);
  BOOST_TEST(micros("0.000001") == 1);
  BOOST_TEST(micros("0") == 0);  // A value; whether zero is allowed is the caller's rule.
  BOOST_TEST(micros("9223372036854.775807") == Micros::kMax);
  for (std::string_view bad : {"133.3500011", "9223372036854.775808", "9223372036854775808", "",
                               ".5", "5.", "-5", "+5", "1e6", "1,5", "1.2.3", " 5", "0x10"}) {
    BOOST_TEST(!ParseMicrosOrUsdt(bad).has_value(), "accepted '" << bad << "'");
  }
}

BOOST_AUTO_TEST_CASE(amounts_format_as_usdt_exactly_with_or_without_separators) {
  BOOST_TEST(FormatUsdt(378105589982, true) == "378,105.589982");
  BOOST_TEST(FormatUsdt(378105589982) == "378105.589982");
  BOOST_TEST(FormatUsdt(1, true) == "0.000001");
  BOOST_TEST(FormatUsdt(0, true) == "0.000000");
  BOOST_TEST(FormatUsdt(-999999999, true) == "-999.999999");
  BOOST_TEST(FormatUsdt(-1000000000, true) == "-1,000.000000");
  BOOST_TEST(FormatUsdt(Micros::kMax, true) == "9,223,372,036,854.775807");
  BOOST_TEST(FormatUsdt(std::numeric_limits<int64_t>::min(), true) == "-9,223,372,036,854.775808");
  // The plain form reads back to the same amount, across the digit counts where separators change.
  for (int64_t m = 1; m > 0 && m < Micros::kMax / 7; m = m * 7 + 3) {
    BOOST_TEST(ParseMicrosOrUsdt(FormatUsdt(m))->value() == m);
  }
}

BOOST_AUTO_TEST_CASE(utf8_prefix_never_cuts_a_character) {
  // Proves that a prefix of valid UTF-8 taken at every length stays valid and as long as it can be:
  // 1-, 2-, 3- and 4-byte characters, cut before, inside and after each.
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xD0\xB0";
  for (size_t n = 0; n <= text.size() + 1; ++n) {
    const std::string_view prefix = Utf8Prefix(text, n);
    BOOST_TEST(!FirstInvalidUtf8(prefix).has_value(), "cut at " << n);
    BOOST_TEST(prefix.size() <= n);
    BOOST_TEST(prefix.size() + 3 >= std::min(n, text.size()), "cut at " << n << " lost too much");
    BOOST_TEST(text.rfind(prefix, 0) == 0u);
  }
  BOOST_TEST(Utf8Prefix(text, 2) == "a");                      // Inside the 2-byte é: before it.
  BOOST_TEST(Utf8Prefix(text, 3) == "a\xC3\xA9");              // Right after it.
  BOOST_TEST(Utf8Prefix(text, 9) == "a\xC3\xA9\xE2\x82\xAC");  // Inside the emoji.
}

BOOST_AUTO_TEST_CASE(utf8_validation_finds_the_first_bad_byte) {
  BOOST_TEST(!FirstInvalidUtf8("plain ascii").has_value());
  BOOST_TEST(!FirstInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80").has_value());
  BOOST_TEST(FirstInvalidUtf8("ab\xFF").value() == 2u);            // Never a UTF-8 byte.
  BOOST_TEST(FirstInvalidUtf8("a\xC0\xAF").value() == 1u);         // Overlong '/'.
  BOOST_TEST(FirstInvalidUtf8("\xE0\x80\xAF").value() == 0u);      // Overlong, 3 bytes.
  BOOST_TEST(FirstInvalidUtf8("x\xED\xA0\x80").value() == 1u);     // A surrogate.
  BOOST_TEST(FirstInvalidUtf8("\xF4\x90\x80\x80").value() == 0u);  // Past U+10FFFF.
  BOOST_TEST(FirstInvalidUtf8("ok\xE2\x82").value() == 2u);        // Cut short.
  BOOST_TEST(FirstInvalidUtf8("\xC3(").value() == 0u);             // Bad continuation.
  // The decoder says where a line stops being text.
  DecodeResult r = DecodeEventLine("{\"action\":\"x\xFE\"}", 0);
  const Rejection& rejection = std::get<Rejection>(r);
  BOOST_TEST(ErrorCodeName(rejection.code) == "MALFORMED_JSON");
  BOOST_TEST(rejection.message == "not valid JSON: not UTF-8 at byte 13 (0xFE)");
}

BOOST_AUTO_TEST_CASE(backoff_doubles_to_its_cap_and_stops_after_its_attempts) {
  // Only the schedule is checked (what the observer is told); the waits are the real ones, short.
  Backoff backoff(3);
  std::vector<int> delays;
  auto observe = [&delays](const RetryNotice& n) { delays.push_back(n.delay_ms); };
  const absl::Status cause = absl::UnavailableError("gone");
  BOOST_TEST(backoff.Wait(cause, observe));
  BOOST_TEST(backoff.Wait(cause, observe));
  BOOST_TEST(backoff.Wait(cause, observe));
  BOOST_TEST(!backoff.Wait(cause, observe));  // Used up: no fourth wait.
  BOOST_TEST((delays == std::vector<int>{100, 200, 400}));
  backoff.Reset();
  std::atomic<bool> stop{true};
  BOOST_TEST(!backoff.Wait(cause, observe, &stop));  // A stop request is not waited out.
  BOOST_TEST(IsTransient(absl::UnknownError("commit outcome unknown")));
  BOOST_TEST(!IsTransient(absl::FailedPreconditionError("read-only")));
}

BOOST_AUTO_TEST_CASE(unlimited_retries_outlast_the_default_and_the_end_of_an_outage_is_told) {
  // With 1 ms waits (the schedule is the point), an unlimited backoff keeps going past the default
  // attempts; a Reset after a success tells the observer once that the outage is over, with its
  // attempts and a duration at least the waits it slept; a Reset with no outage tells nothing.
  Backoff backoff(kRetriesUnlimited, 1, 2);
  std::vector<RetryNotice> notices;
  auto observe = [&notices](const RetryNotice& n) { notices.push_back(n); };
  const absl::Status cause = absl::UnavailableError("gone");
  for (int i = 0; i < 5 * kOutageRetriesMax; ++i) BOOST_REQUIRE(backoff.Wait(cause, observe));
  BOOST_TEST(notices.back().attempt == 5 * kOutageRetriesMax);
  BOOST_TEST(DescribeRetry(notices.back()).find("retry 60 unlimited in 2 ms") != std::string::npos,
             DescribeRetry(notices.back()));
  backoff.Reset(observe);
  BOOST_REQUIRE_EQUAL(notices.size(), static_cast<size_t>(5 * kOutageRetriesMax + 1));
  const RetryNotice& over = notices.back();
  BOOST_TEST(over.recovered);
  BOOST_TEST(over.attempt == 5 * kOutageRetriesMax);
  BOOST_TEST(over.outage_ms >= 2 * (5 * kOutageRetriesMax - 1));
  BOOST_TEST(DescribeRetry(over).find("reconnected: the outage lasted ") == 0u);
  backoff.Reset(observe);
  BOOST_TEST(notices.size() == static_cast<size_t>(5 * kOutageRetriesMax + 1));
}

// One market and three wallets hold thirty bets (ten per wallet per market): a stream asked for
// more stops once they have all run their course, instead of looping for ever.
BOOST_AUTO_TEST_CASE(generator_stops_short_when_its_markets_and_wallets_are_full) {
  StreamOptions options;
  options.markets = 1;
  options.wallets = 3;
  options.events = 5000;
  std::ostringstream out;
  int64_t events = 0;
  const int64_t lines = GenerateStream(options, out, &events);
  BOOST_TEST(events < options.events);
  BOOST_TEST(events > 30);  // Thirty placements and what became of them.
  BOOST_TEST(lines == events);
  const std::string text = out.str();
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == lines);
  const std::string placed = "\"action\":\"PLACED\"";
  size_t placements = 0;
  for (size_t at = text.find(placed); at != std::string::npos; at = text.find(placed, at + 1)) {
    ++placements;
  }
  BOOST_TEST(placements == 30u);
  options.markets = 13;
  options.wallets = 2000;
  std::ostringstream roomy;
  GenerateStream(options, roomy, &events);
  BOOST_TEST(events == options.events);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
