// Specification of the automated decisions (engine/operations.h): the velocity and concentration
// rules at exactly, below and above each threshold, which bets they flag and with what severity,
// and market expiry at its boundary. Pure: states are built by folding hand-made events.
#include "engine/operations.h"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <vector>

#include "engine/ledger_state.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

constexpr TimeMicros kSecond = 1000000;
constexpr TimeMicros kMinute = 60 * kSecond;
constexpr TimeMicros kHour = 60 * kMinute;
constexpr TimeMicros kT0 = 1771232400LL * kSecond;  // 2026-02-16T09:00:00Z
constexpr int64_t kUsdt = 1000000;
const std::string kW1 = "0x1111111111111111111111111111111111111111";
const std::string kW2 = "0x2222222222222222222222222222222222222222";
const std::string kW3 = "0x3333333333333333333333333333333333333333";
const std::string kW4 = "0x4444444444444444444444444444444444444444";

// Another wallet, for filling a pool: "0x" + 40 times the digit.
std::string Wallet(int digit) { return "0x" + std::string(40, static_cast<char>('5' + digit)); }

class Book {
 public:
  Book() { Market("m1", kT0 + 24 * kHour); }
  // A LedgerState cannot be copied: the copy folds the same events into a state of its own.
  Book(const Book& other) : bets_(other.bets_), numbers_(other.numbers_) {
    for (const Event& e : other.applied_) Apply(e);
  }

  void Market(const std::string& id, TimeMicros end) {
    Event e;
    e.action = Action::kMarketCreated;
    e.market_id = id;
    e.question = "Q?";
    e.end_date = end;
    e.contract_address = "0x" + std::string(40, 'c');
    e.gnosis_safe_address = "0x" + std::string(40, 'a');
    e.created_at = kT0 - kHour;
    Apply(e);
  }
  // Places and (unless `pending`) confirms a bet; returns its id.
  std::string Bet(const std::string& wallet, TimeMicros at, int64_t amount = 10 * kUsdt,
                  Choice choice = Choice::kYes, const std::string& market = "m1",
                  bool pending = false) {
    const std::string id = "b" + std::to_string(++bets_);
    Event e;
    e.action = Action::kPlaced;
    e.bet_id = id;
    e.market_id = market;
    e.wallet = wallet;
    e.choice = choice;
    e.amount = Micros(amount);
    e.bet_number = ++numbers_[wallet + market];
    e.created_at = at;
    Apply(e);
    if (!pending) BetAction(Action::kConfirmed, id);
    return id;
  }
  void BetAction(Action action, const std::string& bet, int64_t clawback = 0) {
    Event e;
    e.action = action;
    e.bet_id = bet;
    e.created_at = kT0;
    if (action == Action::kFlagged) e.reason = "by hand";
    if (action == Action::kClawedBack) e.clawback_amount = Micros(clawback);
    Apply(e);
  }
  void MarketAction(Action action, const std::string& market) {
    Event e;
    e.action = action;
    e.market_id = market;
    e.created_at = kT0;
    if (action == Action::kMarketResolved) e.winner = Choice::kYes;
    Apply(e);
  }
  void Apply(Event e) {
    std::optional<Rejection> r = state_.Validate(e);
    BOOST_REQUIRE_MESSAGE(!r, "refused: " << r->message);
    state_.Derive(&e);
    state_.Apply(e);
    applied_.push_back(std::move(e));
  }
  const LedgerState& state() const { return state_; }

 private:
  LedgerState state_;
  std::vector<Event> applied_;
  int bets_ = 0;
  std::map<std::string, int> numbers_;
};

std::vector<std::string> FlaggedIds(const std::vector<RiskHit>& hits) {
  std::vector<std::string> out;
  for (const RiskHit& h : hits) out.push_back(h.bet_id);
  return out;
}

RiskRules VelocityOnly(int32_t bets = 3, TimeMicros window = kHour) {
  return RiskRules{VelocityRule{bets, window}, std::nullopt};
}
RiskRules ConcentrationOnly(int64_t share = 250000, int64_t min_pool = 0) {
  return RiskRules{std::nullopt, ConcentrationRule{share, Micros(min_pool)}};
}

BOOST_AUTO_TEST_SUITE(operations)

BOOST_AUTO_TEST_CASE(velocity_flags_exactly_the_threshold_and_not_one_below) {
  // Proves: 3 bets within the hour trip the default rule, 2 do not.
  Book at;
  at.Bet(kW1, kT0);
  at.Bet(kW1, kT0 + 10 * kMinute);
  BOOST_TEST(FindRiskHits(at.state(), VelocityOnly()).empty());
  const std::string third = at.Bet(kW1, kT0 + 20 * kMinute);
  std::vector<RiskHit> hits = FindRiskHits(at.state(), VelocityOnly());
  BOOST_TEST(FlaggedIds(hits) == (std::vector<std::string>{"b1", "b2", "b3"}));
  BOOST_TEST(hits[0].wallet == kW1);
  BOOST_TEST(hits[0].market_id == "m1");
  BOOST_TEST(hits[0].velocity);
  BOOST_TEST(!hits[0].concentration);
  BOOST_TEST(SeverityName(hits[0].severity) == SeverityName(Severity::kLow));
  BOOST_TEST(hits[0].reason == "velocity: 3 bets within 1h (rule: 3 within 1h)");
}

BOOST_AUTO_TEST_CASE(velocity_window_is_strict_at_its_end) {
  // Proves: bets exactly one window apart are not "within" it (the seed's createdAt > NOW() - 1h);
  // one microsecond less and they are.
  Book apart;
  apart.Bet(kW1, kT0);
  apart.Bet(kW1, kT0 + 30 * kMinute);
  apart.Bet(kW1, kT0 + kHour);
  BOOST_TEST(FindRiskHits(apart.state(), VelocityOnly()).empty());

  Book inside;
  inside.Bet(kW1, kT0);
  inside.Bet(kW1, kT0 + 30 * kMinute);
  inside.Bet(kW1, kT0 + kHour - 1);
  BOOST_TEST(FindRiskHits(inside.state(), VelocityOnly()).size() == 3u);
}

BOOST_AUTO_TEST_CASE(velocity_flags_only_the_bets_inside_an_offending_window) {
  // Proves: a wallet's earlier, unhurried bets are not flagged with its burst; other wallets are
  // not.
  Book at;
  at.Bet(kW1, kT0 - 5 * kHour);
  at.Bet(kW1, kT0 - 3 * kHour);
  at.Bet(kW1, kT0, 10 * kUsdt, Choice::kNo, "m1");
  at.Bet(kW1, kT0 + kMinute);
  at.Bet(kW1, kT0 + 2 * kMinute);
  at.Bet(kW2, kT0);
  at.Bet(kW2, kT0 + kMinute);
  BOOST_TEST(FlaggedIds(FindRiskHits(at.state(), VelocityOnly())) ==
             (std::vector<std::string>{"b3", "b4", "b5"}));
}

BOOST_AUTO_TEST_CASE(velocity_counts_every_bet_but_flags_only_confirmed_unresolved_ones) {
  // Proves: a pending bet and a bet in a resolved market count toward the burst (the seed counts
  // every Bet row) but are not flagged; an already flagged bet is not flagged again, so a second
  // run after the first run's flags finds nothing.
  Book at;
  at.Market("m2", kT0 + 24 * kHour);
  const std::string resolved = at.Bet(kW1, kT0, 10 * kUsdt, Choice::kYes, "m2");
  at.MarketAction(Action::kMarketResolved, "m2");
  const std::string pending = at.Bet(kW1, kT0 + kMinute, 10 * kUsdt, Choice::kYes, "m1", true);
  const std::string confirmed = at.Bet(kW1, kT0 + 2 * kMinute);
  std::vector<RiskHit> hits = FindRiskHits(at.state(), VelocityOnly());
  BOOST_TEST(FlaggedIds(hits) == std::vector<std::string>{confirmed});

  Book again = at;
  again.Apply(FlagEventFor(hits[0], kT0 + kHour));
  BOOST_TEST(FindRiskHits(again.state(), VelocityOnly()).empty());
  BOOST_TEST(again.state().wallets().at(kW1).reason == hits[0].reason);
}

BOOST_AUTO_TEST_CASE(velocity_severity_grows_with_the_burst) {
  // Proves: severity follows count / threshold: 4/3 LOW, 5/3 MEDIUM, 6/3 HIGH, 9/3 CRITICAL.
  const std::vector<std::pair<int, Severity>> cases = {
      {4, Severity::kLow}, {5, Severity::kMedium}, {6, Severity::kHigh}, {9, Severity::kCritical}};
  for (const auto& [bets, severity] : cases) {
    Book at;
    for (int i = 0; i < bets; ++i) at.Bet(kW1, kT0 + i * kMinute);
    std::vector<RiskHit> hits = FindRiskHits(at.state(), VelocityOnly());
    BOOST_REQUIRE(hits.size() == static_cast<size_t>(bets));
    BOOST_TEST(SeverityName(hits[0].severity) == SeverityName(severity), bets << " bets");
  }
}

BOOST_AUTO_TEST_CASE(concentration_flags_strictly_more_than_the_share) {
  // Proves: exactly 25% of a side is not flagged, 25% plus one micro-USDT is, and only that wallet.
  Book exact;
  for (const std::string& w : {kW1, kW2, kW3, kW4}) exact.Bet(w, kT0, 25 * kUsdt);
  BOOST_TEST(FindRiskHits(exact.state(), ConcentrationOnly()).empty());

  Book above;
  const std::string big = above.Bet(kW1, kT0, 25 * kUsdt + 1);
  for (const std::string& w : {kW2, kW3, kW4}) above.Bet(w, kT0, 25 * kUsdt);
  std::vector<RiskHit> hits = FindRiskHits(above.state(), ConcentrationOnly());
  BOOST_TEST(FlaggedIds(hits) == std::vector<std::string>{big});
  BOOST_REQUIRE(hits.size() == 1u);
  BOOST_TEST(hits[0].concentration);
  BOOST_TEST(SeverityName(hits[0].severity) == SeverityName(Severity::kLow));
  BOOST_TEST(hits[0].reason ==
             "concentration: holds 25.00% of the YES pool of market m1 (25000001 of 100000001 "
             "micro-USDT; rule: more than 25.00% of a side of at least 0 USDT)");
}

BOOST_AUTO_TEST_CASE(concentration_ignores_sides_below_the_minimum_pool) {
  // Proves: a side holding one micro-USDT less than the minimum is not judged; at the minimum it
  // is.
  Book below;
  below.Bet(kW1, kT0, 600 * kUsdt);
  below.Bet(kW2, kT0, 400 * kUsdt - 1);
  BOOST_TEST(FindRiskHits(below.state(), ConcentrationOnly(250000, 1000 * kUsdt)).empty());
  Book at;
  at.Bet(kW1, kT0, 600 * kUsdt);
  at.Bet(kW2, kT0, 400 * kUsdt);
  std::vector<RiskHit> hits = FindRiskHits(at.state(), ConcentrationOnly(250000, 1000 * kUsdt));
  BOOST_TEST(FlaggedIds(hits) == (std::vector<std::string>{"b1", "b2"}));
  BOOST_TEST(SeverityName(hits[0].severity) == SeverityName(Severity::kHigh));  // 60% / 25% = 2.4x
  BOOST_TEST(SeverityName(hits[1].severity) ==
             SeverityName(Severity::kMedium));  // 40% / 25% = 1.6x
}

BOOST_AUTO_TEST_CASE(concentration_counts_stakes_after_clawbacks) {
  // Proves: a clawback reduces the wallet's stake as it reduces the pool, so a wallet brought back
  // under the share is no longer flagged.
  Book at;
  const std::string b1 = at.Bet(kW1, kT0, 60 * kUsdt);
  at.Bet(kW1, kT0 + kMinute, 60 * kUsdt);
  for (int i = 0; i < 5; ++i) at.Bet(Wallet(i), kT0, 60 * kUsdt);
  BOOST_TEST(FindRiskHits(at.state(), ConcentrationOnly()).size() == 2u);  // 120 of 420
  at.BetAction(Action::kClawedBack, b1, 50 * kUsdt);                       // 70 of 370
  BOOST_TEST(FindRiskHits(at.state(), ConcentrationOnly()).empty());
}

BOOST_AUTO_TEST_CASE(both_rules_on_one_bet_give_one_hit_with_the_higher_severity) {
  // Proves: a bet hit by both rules is flagged once, reason naming both, the worse severity.
  Book at;
  for (int i = 0; i < 3; ++i) at.Bet(kW1, kT0 + i * kMinute, 100 * kUsdt);
  at.Bet(kW2, kT0 - 5 * kHour, 100 * kUsdt);
  std::vector<RiskHit> hits =
      FindRiskHits(at.state(), RiskRules{VelocityRule{}, ConcentrationRule{250000, Micros(0)}});
  BOOST_REQUIRE(hits.size() == 3u);
  BOOST_TEST(hits[0].velocity);
  BOOST_TEST(hits[0].concentration);
  BOOST_TEST(SeverityName(hits[0].severity) ==
             SeverityName(Severity::kCritical));  // 75% / 25% = 3x
  BOOST_TEST(hits[0].reason.rfind("concentration: ", 0) == 0);
  BOOST_TEST(hits[0].reason.find("; velocity: 3 bets within 1h") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(expired_markets_close_strictly_after_their_end) {
  // Proves: a market ending at `now` stays open, one that ended a microsecond before closes, with
  // its endDate in the reason; closed and resolved markets are left alone.
  Book at;
  at.Market("ends-now", kT0);
  at.Market("ended", kT0 - 1);
  at.Market("closed", kT0 - kHour);
  at.MarketAction(Action::kMarketClosed, "closed");
  std::vector<Event> closes = ExpiredMarketCloses(at.state(), kT0);
  BOOST_REQUIRE(closes.size() == 1u);
  BOOST_TEST(*closes[0].market_id == "ended");
  BOOST_TEST(ActionName(closes[0].action) == "MARKET_CLOSED");
  BOOST_TEST(closes[0].created_at == kT0);
  BOOST_TEST(*closes[0].reason ==
             "endDate 2026-02-16T08:59:59.999999Z has passed (ledger markets close-expired)");
}

BOOST_AUTO_TEST_CASE(rule_flags_parse_strictly) {
  // Proves: the command-line forms of the thresholds, and that malformed ones are refused.
  std::optional<VelocityRule> v = ParseVelocity("5/30m");
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->bets_min == 5);
  BOOST_TEST(v->window == 30 * kMinute);
  for (const char* bad : {"", "3", "3/", "/1h", "1/1h", "3/0s", "3/1y", "-3/1h", "3/400d"}) {
    BOOST_TEST(!ParseVelocity(bad).has_value(), bad);
  }
  BOOST_TEST(*ParseShare("0.25") == 250000);
  BOOST_TEST(*ParseShare("25%") == 250000);
  BOOST_TEST(*ParseShare("0.000001") == 1);
  BOOST_TEST(*ParseShare("12.5%") == 125000);
  for (const char* bad : {"", "0", "1", "1.0", "0.0000001", "-0.25", "0.25.1", ".25", "1e-1",
                          "100%", "0%", " 0.25"}) {
    BOOST_TEST(!ParseShare(bad).has_value(), bad);
  }
  BOOST_TEST(FormatShare(250000) == "25.00%");
  BOOST_TEST(FormatShare(1) == "0.00%");
  BOOST_TEST(*ParseDuration("30d") == 30 * 24 * kHour);
  BOOST_TEST(FormatDuration(30 * 24 * kHour) == "30d");
  BOOST_TEST(FormatDuration(90 * kSecond) == "90s");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ledger
