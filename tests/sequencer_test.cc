// Specification of positions, identities and the hash chain: what makes a re-sent event a duplicate
// or a conflict, and how the chain detects an altered, missing or reordered row.
#include "engine/sequencer.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "engine/event_codec.h"
#include "engine/hash_chain.h"

namespace ledger {
namespace {

constexpr TimeMicros kNow = 1771232400000000;

Event Decode(const std::string& line, TimeMicros now = kNow) {
  DecodeResult d = DecodeEventLine(line, now);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<Event>(d), "undecodable: " << line);
  return std::get<Event>(d);
}

const std::string kMarket =
    R"({"action":"MARKET_CREATED","marketId":"m1","question":"Q?","endDate":"2027-01-01T00:00:00Z","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})";
const std::string kPlace =
    R"({"action":"PLACED","betId":"b1","marketId":"m1","wallet":"0x1111111111111111111111111111111111111111","choice":"YES","amount":5000000,"betNumber":1})";

std::vector<LoggedEvent> AcceptAll(Sequencer& s, const std::vector<std::string>& lines) {
  std::vector<LoggedEvent> rows;
  for (const std::string& line : lines) {
    Sequencer::Offered o = s.Offer(Decode(line), kNow);
    BOOST_REQUIRE_MESSAGE(o.outcome == Sequencer::Outcome::kAccepted, "not accepted: " << line);
    rows.push_back(o.row);
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sequencer)

BOOST_AUTO_TEST_CASE(positions_are_gap_free_and_chained) {
  Sequencer s;
  std::vector<LoggedEvent> rows =
      AcceptAll(s, {kMarket, kPlace, R"({"action":"CONFIRMED","betId":"b1"})"});
  Sha256 prev = kGenesisHash;
  for (size_t i = 0; i < rows.size(); ++i) {
    BOOST_TEST(rows[i].seq == static_cast<int64_t>(i + 1));
    BOOST_TEST((rows[i].prev_hash == prev));
    BOOST_TEST((rows[i].hash == ChainHash(prev, rows[i])));
    prev = rows[i].hash;
  }
  BOOST_TEST(rows[2].stream_id == "bet:b1");
  BOOST_TEST(rows[2].stream_version == 2);
  BOOST_TEST(*rows[2].event.market_id == "m1");  // Derived from the bet.
  BOOST_TEST((s.head_hash() == rows.back().hash));
}

BOOST_AUTO_TEST_CASE(resent_event_is_a_duplicate_even_with_another_time) {
  Sequencer s;
  AcceptAll(s, {kMarket, kPlace});
  Sequencer::Offered again = s.Offer(Decode(kPlace, kNow + 1000), kNow);
  BOOST_TEST((again.outcome == Sequencer::Outcome::kDuplicate));
  BOOST_TEST(again.existing_seq == 2);
  BOOST_TEST(s.head_seq() == 2);
}

BOOST_AUTO_TEST_CASE(same_identity_with_other_payload_is_a_conflict) {
  Sequencer s;
  AcceptAll(s, {kMarket, kPlace});
  std::string changed = kPlace;
  changed.replace(changed.find("5000000"), 7, "6000000");
  Event event = Decode(changed);
  Sequencer::Offered o = s.Offer(event, kNow);
  BOOST_TEST((o.outcome == Sequencer::Outcome::kConflict));
  BOOST_TEST(o.existing_seq == 2);
  Event original = Decode(kPlace);
  std::vector<std::string> fields = DifferingFields(event, original);
  BOOST_TEST(fields == std::vector<std::string>{"amount"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replay_rebuilds_the_same_head_and_detects_tampering) {
  Sequencer writer;
  std::vector<LoggedEvent> rows =
      AcceptAll(writer, {kMarket, kPlace, R"({"action":"CONFIRMED","betId":"b1"})"});
  Sequencer reader;
  for (const LoggedEvent& row : rows) BOOST_REQUIRE(reader.Replay(row).ok());
  BOOST_TEST((reader.head_hash() == writer.head_hash()));
  BOOST_TEST(reader.state().FindMarket("m1")->yes_pool.value() == 5000000);

  // An altered amount breaks the row's own hash.
  Sequencer altered;
  BOOST_REQUIRE(altered.Replay(rows[0]).ok());
  LoggedEvent forged = rows[1];
  forged.event.amount = Micros(1);
  BOOST_TEST(absl::IsDataLoss(altered.Replay(forged)));

  // A missing row breaks continuity.
  Sequencer gap;
  BOOST_REQUIRE(gap.Replay(rows[0]).ok());
  BOOST_TEST(absl::IsDataLoss(gap.Replay(rows[2])));
}

BOOST_AUTO_TEST_CASE(every_field_is_covered_by_the_hash) {
  Sequencer s;
  LoggedEvent row = AcceptAll(s, {kMarket, kPlace})[1];
  const Sha256 original = ChainHash(row.prev_hash, row);
  std::vector<LoggedEvent> variants(8, row);
  variants[0].seq += 1;
  variants[1].recorded_at += 1;
  variants[2].event.created_at += 1;
  variants[3].event.wallet = "0x2222222222222222222222222222222222222222";
  variants[4].event.choice = Choice::kNo;
  variants[5].event.bet_number = 2;
  variants[6].stream_version += 1;
  variants[7].event.tx_hash = "0x" + std::string(64, 'a');
  for (const LoggedEvent& v : variants) BOOST_TEST((ChainHash(v.prev_hash, v) != original));
  // A NULL and an empty string encode differently.
  LoggedEvent empty_reason = row;
  empty_reason.event.reason = "";
  BOOST_TEST((ChainHash(row.prev_hash, empty_reason) != original));
}

BOOST_AUTO_TEST_CASE(fingerprint_encodes_exactly_the_identity_payload) {
  // PayloadFingerprint encodes StripDerived(event) without copying it: the two must agree on what
  // is derived, or duplicates would be taken for conflicts.
  Sequencer s;
  std::vector<LoggedEvent> rows =
      AcceptAll(s, {kMarket, kPlace, R"({"action":"CONFIRMED","betId":"b1"})"});
  for (const LoggedEvent& row : rows) {
    std::string stripped;
    AppendCanonicalEvent(StripDerived(row.event), &stripped);
    BOOST_TEST((PayloadFingerprint(row.event) == Sha256Of(stripped)));
  }
  BOOST_TEST(rows[2].event.market_id.has_value());  // Derived, yet not part of the fingerprint:
  Event bare = rows[2].event;
  bare.market_id.reset();
  bare.wallet.reset();
  bare.created_at += 7;
  BOOST_TEST((PayloadFingerprint(bare) == PayloadFingerprint(rows[2].event)));
}

BOOST_AUTO_TEST_CASE(hex_round_trip_and_row_ids_are_deterministic) {
  const Sha256 digest = Sha256Of("abc");
  // FIPS 180-2 test vector for SHA-256("abc").
  BOOST_TEST(ToHex(digest) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST((*FromHex(ToHex(digest)) == digest));
  BOOST_TEST(!FromHex("xyz").has_value());
  BOOST_TEST(RowIdFor("bet:b1:PLACED") == RowIdFor("bet:b1:PLACED"));
  BOOST_TEST(RowIdFor("bet:b1:PLACED") != RowIdFor("bet:b1:CONFIRMED"));
  BOOST_TEST(RowIdFor("bet:b1:PLACED").size() == 36u);
  BOOST_TEST(RowIdFor("bet:b1:PLACED")[14] == '8');  // UUID version 8.
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
