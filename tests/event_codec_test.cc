// Specification of the input format: what the decoder accepts, how it normalizes, and the stable
// code it gives each kind of bad line.
#include "engine/event_codec.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "engine/time_format.h"
#include "engine/utf8.h"

namespace ledger {
namespace {

constexpr TimeMicros kNow = 1771232400000000;  // 2026-02-16T09:00:00Z
const std::string kWallet = "0x742d35Cc6634C0532925a3b844Bc9e7595f0bEb1";
const std::string kTx = "0xABC1230000000000000000000000000000000000000000000000000000000def";

Event MustDecode(const std::string& line) {
  DecodeResult r = DecodeEventLine(line, kNow);
  if (auto* rej = std::get_if<Rejection>(&r)) {
    BOOST_FAIL("unexpected rejection " << ErrorCodeName(rej->code) << ": " << rej->message);
  }
  return std::get<Event>(r);
}

Rejection MustReject(const std::string& line) {
  DecodeResult r = DecodeEventLine(line, kNow);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<Rejection>(r), "accepted: " << line);
  return std::get<Rejection>(r);
}

std::string Placed(const std::string& amount_json) {
  return R"({"action":"PLACED","betId":"b1","marketId":"m1","wallet":")" + kWallet +
         R"(","choice":"YES","amount":)" + amount_json + R"(,"betNumber":1})";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_codec)

BOOST_AUTO_TEST_CASE(placed_is_decoded_and_normalized) {
  // Wallets and hashes arrive in any case and are stored lowercase; createdAt defaults to now.
  Event e =
      MustDecode(R"({"action":"PLACED","betId":"b1","marketId":"m1","wallet":")" + kWallet +
                 R"(","choice":"NO","amount":10000000,"betNumber":3,"txHash":")" + kTx + R"("})");
  BOOST_TEST(ActionName(e.action) == "PLACED");
  BOOST_TEST(*e.wallet == "0x742d35cc6634c0532925a3b844bc9e7595f0beb1");
  BOOST_TEST(*e.tx_hash == "0xabc1230000000000000000000000000000000000000000000000000000000def");
  BOOST_TEST(e.amount->value() == 10000000);
  BOOST_TEST(*e.bet_number == 3);
  BOOST_TEST((*e.choice == Choice::kNo));
  BOOST_TEST(e.created_at == kNow);
  BOOST_TEST(!e.created_at_given);
}

BOOST_AUTO_TEST_CASE(created_at_with_offset_is_converted_to_utc) {
  Event e = MustDecode(
      R"({"action":"MARKET_CLOSED","marketId":"m1","createdAt":"2026-02-16T11:00:00.5+02:00"})");
  BOOST_TEST(FormatRfc3339(e.created_at) == "2026-02-16T09:00:00.5Z");
  BOOST_TEST(e.created_at_given);
}

BOOST_AUTO_TEST_CASE(flagged_severity_defaults_to_medium) {
  Event e = MustDecode(R"({"action":"FLAGGED","betId":"b1","reason":"Velocity exceeded"})");
  BOOST_TEST((*e.severity == Severity::kMedium));
}

BOOST_AUTO_TEST_CASE(optional_fields_may_be_null) {
  Event e = MustDecode(R"({"action":"CONFIRMED","betId":"b1","txHash":null})");
  BOOST_TEST(!e.tx_hash.has_value());
}

BOOST_AUTO_TEST_CASE(encode_then_decode_is_identity) {
  const std::vector<std::string> lines = {
      Placed("5"),
      R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q?","startDate":"2026-01-01T00:00:00Z","endDate":"2026-03-01T00:00:00Z","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002","eventId":"3F2504E0-4F89-11D3-9A0C-0305E82C3301"})",
      R"({"action":"CLAWED_BACK","betId":"b1","clawbackAmount":7,"reason":"Sybil"})",
      R"({"action":"REFUNDED","betId":"b1","clawbackTxHash":")" + kTx + R"("})",
      R"({"action":"WALLET_UNFLAGGED","wallet":")" + kWallet +
          R"(","createdAt":"2026-02-16T09:00:00Z"})",
      R"({"action":"MARKET_RESOLVED","marketId":"m1","winner":"NO"})",
  };
  for (const std::string& line : lines) {
    Event once = MustDecode(line);
    Event twice = MustDecode(EncodeEventJson(once));
    once.created_at_given = twice.created_at_given = true;
    BOOST_TEST((once == twice), line);
  }
}

// One row per rejection code the decoder owns: the line and the code it must get.
struct BadLine {
  std::string line;
  ErrorCode code;
};

BOOST_AUTO_TEST_CASE(every_decoder_rejection_has_its_own_code) {
  const std::vector<BadLine> cases = {
      {std::string(kLineBytesMax + 1, ' '), ErrorCode::kLineTooLong},
      {R"({"action":"PLACED",)", ErrorCode::kMalformedJson},
      {"{\"action\":\"MARKET_CLOSED\",\"marketId\":\"m\xff\"}", ErrorCode::kMalformedJson},
      {R"({"action":"MARKET_CLOSED","marketId":{"a":{"b":{"c":{"d":1}}}}})",
       ErrorCode::kMalformedJson},
      {R"(["PLACED"])", ErrorCode::kNotAnObject},
      {R"({"betId":"b1"})", ErrorCode::kMissingAction},
      {R"({"action":"TELEPORTED"})", ErrorCode::kUnknownAction},
      {R"({"action":7})", ErrorCode::kUnknownAction},
      {R"({"action":"MARKET_CLOSED","marketId":"m1","isAdmin":true})", ErrorCode::kUnknownField},
      {R"({"action":"MARKET_CLOSED"})", ErrorCode::kMissingField},
      {R"({"action":"MARKET_CLOSED","marketId":"m1","marketId":"m2"})", ErrorCode::kDuplicateKey},
      {R"({"action":"MARKET_CLOSED","marketId":"m1","market\u0049d":"m2"})",
       ErrorCode::kDuplicateKey},
      {Placed(R"(5,"amount":500000000)"), ErrorCode::kDuplicateKey},
      {R"({"action":"MARKET_CLOSED","marketId":null})", ErrorCode::kMissingField},
      {R"({"action":"MARKET_CLOSED","marketId":12})", ErrorCode::kFieldType},
      {Placed("10.5"), ErrorCode::kAmountNotInteger},
      {Placed("\"10\""), ErrorCode::kAmountNotInteger},
      {Placed("1e6"), ErrorCode::kAmountNotInteger},
      {Placed("0"), ErrorCode::kAmountOutOfRange},
      {Placed("-5"), ErrorCode::kAmountOutOfRange},
      {Placed("9223372036854775808"), ErrorCode::kAmountOutOfRange},
      {Placed("100000000000000000000"), ErrorCode::kAmountOutOfRange},
      {R"({"action":"WALLET_UNFLAGGED","wallet":"0x123","createdAt":"2026-02-16T09:00:00Z"})",
       ErrorCode::kInvalidWallet},
      {R"({"action":"CONFIRMED","betId":"b1","txHash":"0xzz"})", ErrorCode::kInvalidTxHash},
      {R"({"action":"MARKET_CLOSED","marketId":"m1","createdAt":"2026-02-16T09:00:00"})",
       ErrorCode::kInvalidTimestamp},
      {R"({"action":"MARKET_CLOSED","marketId":"m1","createdAt":"1970-01-01T00:00:00Z"})",
       ErrorCode::kInvalidTimestamp},
      {R"({"action":"MARKET_CLOSED","marketId":"m1","eventId":"not-a-uuid"})",
       ErrorCode::kInvalidEventId},
      {R"({"action":"MARKET_RESOLVED","marketId":"m1","winner":"MAYBE"})",
       ErrorCode::kInvalidChoice},
      {R"({"action":"FLAGGED","betId":"b1","reason":"r","severity":"APOCALYPTIC"})",
       ErrorCode::kInvalidSeverity},
      {R"({"action":"PLACED","betId":"b1","marketId":"m1","wallet":")" + kWallet +
           R"(","choice":"YES","amount":5,"betNumber":11})",
       ErrorCode::kInvalidBetNumber},
      {R"({"action":"FLAGGED","betId":"b1","reason":""})", ErrorCode::kInvalidText},
      {R"({"action":"MARKET_CLOSED","marketId":"has space"})", ErrorCode::kInvalidId},
      {R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q","endDate":"2026-01-01T00:00:00Z","contractAddress":"0x01","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})",
       ErrorCode::kInvalidAddress},
      {R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q","startDate":"2026-02-01T00:00:00Z","endDate":"2026-01-01T00:00:00Z","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})",
       ErrorCode::kEndBeforeStart},
      {R"({"action":"WALLET_UNFLAGGED","wallet":")" + kWallet + R"("})", ErrorCode::kMissingField},
  };
  for (const BadLine& c : cases) {
    Rejection r = MustReject(c.line);
    BOOST_TEST(ErrorCodeName(r.code) == ErrorCodeName(c.code), c.line.substr(0, 120));
    BOOST_TEST(!r.message.empty());
  }
}

BOOST_AUTO_TEST_CASE(duplicate_key_detection_sees_keys_not_text) {
  // Proves: text that looks like a repeated key inside a value, an array or an escaped quote is not
  // a duplicate; a real repeat is named in the message.
  DecodeResult ok = DecodeEventLine(
      R"({"action":"FLAGGED","betId":"b1","reason":"x\",\"reason\":\"y, {\"betId\":[1]}"})", 0);
  BOOST_REQUIRE(std::holds_alternative<Event>(ok));
  BOOST_TEST(*std::get<Event>(ok).reason == R"(x","reason":"y, {"betId":[1]})");
  Rejection r = MustReject(R"({"action":"FLAGGED","betId":"b1","reason":"a","reason":"b"})");
  BOOST_TEST(r.message == "field reason appears more than once");
}

BOOST_AUTO_TEST_CASE(rejection_message_names_field_and_value_as_the_input_wrote_it) {
  // Numbers come back as written, not as a double prints them ("10.5", never 1.05E1); a key of the
  // same name inside a string or a nested value is not mistaken for the field.
  for (const std::string written :
       {"10.5", "1e6", "1E+400", "-0.0", "2.50", "18446744073709551616"}) {
    Rejection r = MustReject(Placed(written));
    BOOST_TEST(r.message.find("amount") != std::string::npos);
    BOOST_TEST(r.message.find("got " + written) != std::string::npos, r.message);
  }
  Rejection r =
      MustReject(R"({"action":"CLAWED_BACK","betId":"b\"amount\":7","clawbackAmount": 2.25 })");
  BOOST_TEST(r.message.find("got 2.25") != std::string::npos, r.message);
}

BOOST_AUTO_TEST_CASE(sql_fragments_in_text_are_kept_verbatim) {
  Event e = MustDecode(
      R"({"action":"FLAGGED","betId":"b1","reason":"x'); DROP TABLE \"BetHistory\"; --"})");
  BOOST_TEST(*e.reason == "x'); DROP TABLE \"BetHistory\"; --");
}

BOOST_AUTO_TEST_CASE(an_echoed_value_is_cut_on_a_character_boundary) {
  // Proves that a rejection message stays valid UTF-8 however long the value it echoes: a wallet of
  // Cyrillic look-alike letters (2 bytes each), shifted by 0 to 3 ASCII bytes so that the cut
  // falls before, inside and after a character, at every length around the echo limit.
  for (int shift = 0; shift < 4; ++shift) {
    for (int letters = 30; letters < 50; ++letters) {
      std::string wallet = "0x" + std::string(static_cast<size_t>(shift), 'a');
      for (int i = 0; i < letters; ++i) wallet += "\xD0\xB0";  // Cyrillic a.
      const Rejection r = MustReject(R"({"action":"WALLET_UNFLAGGED","wallet":")" + wallet +
                                     R"(","createdAt":"2026-02-16T09:00:00Z"})");
      BOOST_TEST((r.code == ErrorCode::kInvalidWallet));
      BOOST_TEST(!FirstInvalidUtf8(r.message).has_value(),
                 "shift " << shift << ", " << letters << " letters: " << r.message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
