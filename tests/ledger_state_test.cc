// Specification of the rules: each event type's preconditions against the current state, one stable
// code per broken rule, and what a valid event does to markets, bets and flagged wallets.
#include "engine/ledger_state.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "engine/event_codec.h"

namespace ledger {
namespace {

constexpr TimeMicros kNow = 1771232400000000;  // 2026-02-16T09:00:00Z
const std::string kW1 = "0x1111111111111111111111111111111111111111";
const std::string kW2 = "0x2222222222222222222222222222222222222222";
const std::string kTxA = "0x" + std::string(64, 'a');
const std::string kTxB = "0x" + std::string(64, 'b');

std::string Market(const std::string& id, const std::string& end = "2027-01-01T00:00:00Z") {
  return R"({"action":"MARKET_CREATED","marketId":")" + id +
         R"(","question":"Q?","startDate":"2026-01-01T00:00:00Z","endDate":")" + end +
         R"(","contractAddress":"0x0000000000000000000000000000000000000001","gnosisSafeAddress":"0x0000000000000000000000000000000000000002"})";
}
std::string Place(const std::string& bet, const std::string& market, const std::string& wallet,
                  const std::string& choice, int64_t amount, int number,
                  const std::string& extra = "") {
  return R"({"action":"PLACED","betId":")" + bet + R"(","marketId":")" + market +
         R"(","wallet":")" + wallet + R"(","choice":")" + choice + R"(","amount":)" +
         std::to_string(amount) + R"(,"betNumber":)" + std::to_string(number) + extra + "}";
}
std::string BetAction(const std::string& action, const std::string& bet,
                      const std::string& extra = "") {
  return R"({"action":")" + action + R"(","betId":")" + bet + "\"" + extra + "}";
}
std::string MarketAction(const std::string& action, const std::string& market,
                         const std::string& extra = "") {
  return R"({"action":")" + action + R"(","marketId":")" + market + "\"" + extra + "}";
}

class Ledger {
 public:
  // Applies `line`; fails the test if it is refused.
  void Ok(const std::string& line) {
    Event e = Decode(line);
    std::optional<Rejection> r = state_.Validate(e);
    BOOST_REQUIRE_MESSAGE(!r, line << " refused: " << ErrorCodeName(r->code) << " " << r->message);
    state_.Derive(&e);
    state_.Apply(e);
  }
  // Expects `line` to be refused with `code`, and the state to stay as it was.
  void Refused(const std::string& line, ErrorCode code) {
    Event e = Decode(line);
    std::optional<Rejection> r = state_.Validate(e);
    BOOST_REQUIRE_MESSAGE(r.has_value(), line << " was accepted");
    BOOST_TEST(ErrorCodeName(r->code) == ErrorCodeName(code), line);
  }
  const LedgerState& state() const { return state_; }

 private:
  static Event Decode(const std::string& line) {
    DecodeResult d = DecodeEventLine(line, kNow);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<Event>(d), "undecodable: " << line);
    return std::get<Event>(d);
  }
  LedgerState state_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ledger_state)

BOOST_AUTO_TEST_CASE(bet_lifecycle_moves_pools_and_statuses) {
  Ledger l;
  l.Ok(Market("m1"));
  l.Ok(Place("b1", "m1", kW1, "YES", 10'000'000, 1));
  l.Ok(Place("b2", "m1", kW2, "NO", 4'000'000, 1));
  BOOST_TEST(l.state().FindMarket("m1")->yes_pool.value() == 0);  // PENDING bets are not pooled.
  l.Ok(BetAction("CONFIRMED", "b1"));
  l.Ok(BetAction("CONFIRMED", "b2", R"(,"txHash":")" + kTxA + "\""));
  BOOST_TEST(l.state().FindMarket("m1")->yes_pool.value() == 10'000'000);
  BOOST_TEST(l.state().FindMarket("m1")->no_pool.value() == 4'000'000);
  BOOST_TEST(*l.state().TxHashOf(*l.state().FindBet("b2")) == kTxA);
  l.Ok(BetAction("FLAGGED", "b1", R"(,"reason":"Velocity exceeded","severity":"HIGH")"));
  BOOST_TEST((l.state().FindBet("b1")->status == BetStatus::kFlagged));
  const WalletFlagState& flag = l.state().wallets().at(kW1);
  BOOST_TEST(flag.active);
  BOOST_TEST(flag.market_id == "m1");
  BOOST_TEST((flag.severity == Severity::kHigh));
  l.Ok(BetAction("CLAWED_BACK", "b1", R"(,"clawbackAmount":6000000)"));
  BOOST_TEST(l.state().FindMarket("m1")->yes_pool.value() == 4'000'000);
  BOOST_TEST((l.state().FindBet("b1")->status == BetStatus::kClawedBack));
  l.Ok(BetAction("REFUNDED", "b1", R"(,"clawbackTxHash":")" + kTxB + "\""));
  BOOST_TEST((l.state().FindBet("b1")->status == BetStatus::kClawedBack));
  BOOST_TEST(*l.state().RefundTxHashOf(*l.state().FindBet("b1")) == kTxB);
  l.Ok(R"({"action":"WALLET_UNFLAGGED","wallet":")" + kW1 +
       R"(","createdAt":"2026-02-16T10:00:00Z"})");
  BOOST_TEST(!l.state().wallets().at(kW1).active);
  BOOST_TEST(l.state().wallets().at(kW1).unflagged_at.has_value());
}

BOOST_AUTO_TEST_CASE(market_lifecycle) {
  Ledger l;
  l.Ok(Market("m1"));
  BOOST_TEST((l.state().FindMarket("m1")->status == MarketStatus::kActive));
  l.Ok(MarketAction("MARKET_CLOSED", "m1"));
  l.Refused(MarketAction("MARKET_CLOSED", "m1"), ErrorCode::kMarketNotActive);
  l.Ok(MarketAction("MARKET_RESOLVED", "m1", R"(,"winner":"YES")"));
  BOOST_TEST((*l.state().FindMarket("m1")->winner == Choice::kYes));
  l.Refused(MarketAction("MARKET_RESOLVED", "m1", R"(,"winner":"NO")"), ErrorCode::kMarketResolved);
  // Resolving straight from ACTIVE is allowed.
  l.Ok(Market("m2"));
  l.Ok(MarketAction("MARKET_RESOLVED", "m2", R"(,"winner":"NO")"));
}

BOOST_AUTO_TEST_CASE(every_rule_has_its_own_code) {
  Ledger l;
  l.Ok(Market("m1"));
  l.Refused(Market("m1"), ErrorCode::kMarketExists);
  l.Refused(MarketAction("MARKET_CLOSED", "nope"), ErrorCode::kMarketNotFound);
  l.Refused(Place("b0", "nope", kW1, "YES", 5, 1), ErrorCode::kMarketNotFound);
  // createdAt at or after endDate.
  l.Ok(Market("short", "2026-02-16T09:00:00Z"));
  l.Refused(Place("b0", "short", kW1, "YES", 5, 1), ErrorCode::kMarketEnded);
  l.Ok(Place("b1", "m1", kW1, "YES", 5'000'000, 1, R"(,"txHash":")" + kTxA + "\""));
  l.Refused(Place("b1", "m1", kW2, "YES", 5, 1), ErrorCode::kBetExists);
  l.Refused(Place("b9", "m1", kW1, "NO", 5, 1), ErrorCode::kBetNumberTaken);
  l.Refused(BetAction("CONFIRMED", "ghost"), ErrorCode::kBetNotFound);
  l.Refused(BetAction("FLAGGED", "b1", R"(,"reason":"r")"), ErrorCode::kBetNotConfirmed);
  l.Refused(BetAction("CLAWED_BACK", "b1", R"(,"clawbackAmount":1)"), ErrorCode::kBetNotClawable);
  l.Refused(BetAction("CONFIRMED", "b1", R"(,"txHash":")" + kTxB + "\""),
            ErrorCode::kTxHashMismatch);
  l.Ok(BetAction("CONFIRMED", "b1", R"(,"txHash":")" + kTxA + "\""));
  l.Refused(BetAction("CONFIRMED", "b1"), ErrorCode::kBetNotPending);
  l.Refused(BetAction("REFUNDED", "b1", R"(,"clawbackTxHash":")" + kTxB + "\""),
            ErrorCode::kNotClawedBack);
  l.Refused(BetAction("CLAWED_BACK", "b1", R"(,"clawbackAmount":5000001)"),
            ErrorCode::kClawbackExceedsAmount);
  l.Ok(BetAction("CLAWED_BACK", "b1", R"(,"clawbackAmount":5000000)"));
  l.Ok(BetAction("REFUNDED", "b1", R"(,"clawbackTxHash":")" + kTxB + "\""));
  l.Refused(BetAction("REFUNDED", "b1", R"(,"clawbackTxHash":")" + kTxA + "\""),
            ErrorCode::kAlreadyRefunded);
  l.Refused(R"({"action":"WALLET_UNFLAGGED","wallet":")" + kW2 +
                R"(","createdAt":"2026-02-16T10:00:00Z"})",
            ErrorCode::kWalletNotFlagged);
  l.Ok(MarketAction("MARKET_CLOSED", "m1"));
  l.Refused(Place("b2", "m1", kW2, "YES", 5, 1), ErrorCode::kMarketNotActive);
}

BOOST_AUTO_TEST_CASE(confirm_is_allowed_after_close_but_not_after_resolution) {
  Ledger l;
  l.Ok(Market("m1"));
  l.Ok(Place("b1", "m1", kW1, "YES", 5, 1));
  l.Ok(Place("b2", "m1", kW1, "YES", 5, 2));
  l.Ok(MarketAction("MARKET_CLOSED", "m1"));
  l.Ok(BetAction("CONFIRMED", "b1"));
  l.Ok(MarketAction("MARKET_RESOLVED", "m1", R"(,"winner":"YES")"));
  l.Refused(BetAction("CONFIRMED", "b2"), ErrorCode::kMarketResolved);
}

BOOST_AUTO_TEST_CASE(pool_overflow_is_refused_not_wrapped) {
  Ledger l;
  l.Ok(Market("m1"));
  l.Ok(Place("b1", "m1", kW1, "YES", Micros::kMax, 1));
  l.Ok(Place("b2", "m1", kW2, "YES", 1, 1));
  l.Ok(BetAction("CONFIRMED", "b1"));
  l.Refused(BetAction("CONFIRMED", "b2"), ErrorCode::kPoolOverflow);
  BOOST_TEST(l.state().FindMarket("m1")->yes_pool.value() == Micros::kMax);
}

BOOST_AUTO_TEST_CASE(derive_fills_market_and_wallet_of_bet_actions) {
  Ledger l;
  l.Ok(Market("m1"));
  l.Ok(Place("b1", "m1", kW1, "YES", 5, 1));
  DecodeResult d = DecodeEventLine(BetAction("CONFIRMED", "b1"), kNow);
  Event e = std::get<Event>(d);
  l.state().Derive(&e);
  BOOST_TEST(*e.market_id == "m1");
  BOOST_TEST(*e.wallet == kW1);
}

BOOST_AUTO_TEST_CASE(identity_keys) {
  DecodeResult a = DecodeEventLine(BetAction("CONFIRMED", "b1"), kNow);
  DecodeResult b = DecodeEventLine(
      BetAction("CONFIRMED", "b1", R"(,"eventId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301")"), kNow);
  DecodeResult c = DecodeEventLine(MarketAction("MARKET_CLOSED", "m1"), kNow);
  BOOST_TEST(LedgerState::IdentityKey(std::get<Event>(a)) == "bet:b1:CONFIRMED");
  BOOST_TEST(LedgerState::IdentityKey(std::get<Event>(b)) ==
             "event:3f2504e0-4f89-11d3-9a0c-0305e82c3301");
  BOOST_TEST(LedgerState::IdentityKey(std::get<Event>(c)) == "market:m1:MARKET_CLOSED");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
