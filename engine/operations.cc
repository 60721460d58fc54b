#include "engine/operations.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

constexpr int64_t kMicrosPerUsdt = 1000000;
constexpr int kShareDecimals = 6;

struct BetRef {
  TimeMicros created_at;
  std::string_view id;
  const BetState* bet;
};

bool Flaggable(const LedgerState& state, const BetState& bet) {
  return bet.status == BetStatus::kConfirmed &&
         state.MarketAt(bet.market).status != MarketStatus::kResolved;
}

// The stake a bet holds in its side's pool (the fold's pool arithmetic, bet by bet).
Micros Stake(const BetState& bet) {
  switch (bet.status) {
    case BetStatus::kConfirmed:
    case BetStatus::kFlagged:
      return bet.amount;
    case BetStatus::kClawedBack:
      return *Micros::CheckedSub(bet.amount, bet.clawback_amount);
    case BetStatus::kPending:
      break;
  }
  return Micros(0);
}

void AddHit(absl::flat_hash_map<std::string, RiskHit>& hits, const LedgerState& state,
            std::string_view bet_id, const BetState& bet, Severity severity,
            const std::string& reason, bool velocity) {
  auto [it, inserted] = hits.try_emplace(std::string(bet_id));
  RiskHit& hit = it->second;
  if (inserted) {
    hit.bet_id = std::string(bet_id);
    hit.wallet = std::string(state.WalletOf(bet));
    hit.market_id = state.MarketIdOf(bet);
    hit.severity = severity;
    hit.reason = reason;
  } else if (severity > hit.severity) {
    hit.severity = severity;
    hit.reason = StrCat(reason, "; ", hit.reason);
  } else {
    hit.reason = StrCat(hit.reason, "; ", reason);
  }
  (velocity ? hit.velocity : hit.concentration) = true;
}

void FindVelocityHits(const LedgerState& state, const VelocityRule& rule,
                      absl::flat_hash_map<std::string, RiskHit>& hits) {
  absl::flat_hash_map<uint32_t, std::vector<BetRef>> by_wallet;
  state.ForEachBet([&](std::string_view id, const BetState& bet) {
    by_wallet[bet.wallet].push_back(BetRef{bet.created_at, id, &bet});
  });
  for (auto& [wallet, bets] : by_wallet) {
    if (bets.size() < static_cast<size_t>(rule.bets_min)) continue;
    std::sort(bets.begin(), bets.end(), [](const BetRef& a, const BetRef& b) {
      return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
    });
    // Sliding window [first, j]: every bet inside a window holding bets_min or more offends.
    std::vector<bool> offending(bets.size(), false);
    size_t first = 0;
    size_t marked_end = 0;  // offending[0, marked_end) is final.
    int64_t most = 0;
    for (size_t j = 0; j < bets.size(); ++j) {
      while (bets[j].created_at - bets[first].created_at >= rule.window) ++first;
      const int64_t count = static_cast<int64_t>(j - first + 1);
      if (count < rule.bets_min) continue;
      most = std::max(most, count);
      for (size_t k = std::max(first, marked_end); k <= j; ++k) offending[k] = true;
      marked_end = j + 1;
    }
    if (most == 0) continue;
    const Severity severity = SeverityPastThreshold(most, rule.bets_min);
    const std::string reason =
        StrCat("velocity: ", most, " bets within ", FormatDuration(rule.window),
               " (rule: ", rule.bets_min, " within ", FormatDuration(rule.window), ")");
    for (size_t k = 0; k < bets.size(); ++k) {
      if (offending[k] && Flaggable(state, *bets[k].bet)) {
        AddHit(hits, state, bets[k].id, *bets[k].bet, severity, reason, /*velocity=*/true);
      }
    }
  }
}

void FindConcentrationHits(const LedgerState& state, const ConcentrationRule& rule,
                           absl::flat_hash_map<std::string, RiskHit>& hits) {
  using Position = std::tuple<uint32_t, Choice, uint32_t>;  // market, side, wallet
  absl::flat_hash_map<Position, int64_t> stakes;
  state.ForEachBet([&](std::string_view, const BetState& bet) {
    // Stakes of one side sum to its pool, which the fold keeps within int64.
    stakes[{bet.market, bet.choice, bet.wallet}] += Stake(bet).value();
  });
  absl::flat_hash_map<Position, std::pair<Severity, std::string>> offending;
  for (const auto& [position, stake] : stakes) {
    const auto& [market_index, side, wallet] = position;
    const MarketState& market = state.MarketAt(market_index);
    if (market.status == MarketStatus::kResolved) continue;
    const int64_t pool = (side == Choice::kYes ? market.yes_pool : market.no_pool).value();
    if (pool < rule.side_pool_min.value() || pool == 0) continue;
    const Int128 observed = static_cast<Int128>(stake) * kShareOne;
    const Int128 threshold = static_cast<Int128>(rule.share) * pool;
    if (observed <= threshold) continue;
    const int64_t share = static_cast<int64_t>(observed / pool);
    offending[position] = {
        SeverityPastThreshold(observed, threshold),
        StrCat("concentration: holds ", FormatShare(share), " of the ", ChoiceName(side),
               " pool of market ", state.MarketIdAt(market_index), " (",
               absl::StrFormat("%d of %d", stake, pool), " micro-USDT; rule: more than ",
               FormatShare(rule.share), " of a side of at least ",
               rule.side_pool_min.value() / kMicrosPerUsdt, " USDT)")};
  }
  if (offending.empty()) return;
  state.ForEachBet([&](std::string_view id, const BetState& bet) {
    if (!Flaggable(state, bet)) return;
    auto it = offending.find(Position{bet.market, bet.choice, bet.wallet});
    if (it == offending.end()) return;
    AddHit(hits, state, id, bet, it->second.first, it->second.second, /*velocity=*/false);
  });
}

}  // namespace

Severity SeverityPastThreshold(Int128 observed, Int128 threshold) {
  if (2 * observed < 3 * threshold) return Severity::kLow;
  if (observed < 2 * threshold) return Severity::kMedium;
  if (observed < 3 * threshold) return Severity::kHigh;
  return Severity::kCritical;
}

std::vector<RiskHit> FindRiskHits(const LedgerState& state, const RiskRules& rules) {
  absl::flat_hash_map<std::string, RiskHit> hits;
  if (rules.velocity) FindVelocityHits(state, *rules.velocity, hits);
  if (rules.concentration) FindConcentrationHits(state, *rules.concentration, hits);
  std::vector<RiskHit> out;
  out.reserve(hits.size());
  for (auto& [id, hit] : hits) out.push_back(std::move(hit));
  std::sort(out.begin(), out.end(),
            [](const RiskHit& a, const RiskHit& b) { return a.bet_id < b.bet_id; });
  return out;
}

Event FlagEventFor(const RiskHit& hit, TimeMicros now) {
  Event e;
  e.action = Action::kFlagged;
  e.created_at = now;
  e.bet_id = hit.bet_id;
  e.reason = hit.reason;
  e.severity = hit.severity;
  return e;
}

std::optional<VelocityRule> ParseVelocity(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  VelocityRule rule;
  if (!absl::SimpleAtoi(AbslView(text.substr(0, slash)), &rule.bets_min) || rule.bets_min < 2 ||
      rule.bets_min > kVelocityBetsMax) {
    return std::nullopt;
  }
  std::optional<TimeMicros> window = ParseDuration(text.substr(slash + 1));
  if (!window) return std::nullopt;
  rule.window = *window;
  return rule;
}

std::optional<int64_t> ParseShare(std::string_view text) {
  int64_t scale = kShareOne;
  if (!text.empty() && text.back() == '%') {
    text.remove_suffix(1);
    scale = kShareOne / 100;
  }
  // Digits, then at most one '.', then digits: no signs, exponents or spaces.
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const int fraction_digits_max = scale == kShareOne ? kShareDecimals : kShareDecimals - 2;
  if (whole.empty() || whole.size() > 3 || !digits(whole) || !digits(fraction) ||
      static_cast<int>(fraction.size()) > fraction_digits_max ||
      (dot != std::string_view::npos && fraction.empty())) {
    return std::nullopt;
  }
  int64_t value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  value *= scale;
  int64_t unit = scale;
  for (char c : fraction) {
    unit /= 10;
    value += (c - '0') * unit;
  }
  if (value <= 0 || value >= kShareOne) return std::nullopt;
  return value;
}

std::string FormatShare(int64_t share) {
  const int64_t basis_points = share / (kShareOne / 10000);
  return absl::StrFormat("%d.%02d%%", basis_points / 100, basis_points % 100);
}

std::vector<Event> ExpiredMarketCloses(const LedgerState& state, TimeMicros now) {
  std::vector<Event> out;
  state.ForEachMarket([&](const std::string& id, const MarketState& market) {
    if (market.status != MarketStatus::kActive || market.end_date >= now) return;
    Event e;
    e.action = Action::kMarketClosed;
    e.created_at = now;
    e.market_id = id;
    e.reason = StrCat("endDate ", FormatRfc3339(market.end_date),
                      " has passed (ledger markets close-expired)");
    out.push_back(std::move(e));
  });
  return out;
}

}  // namespace ledger
