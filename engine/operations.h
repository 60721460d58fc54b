// The seed's risk queries and cron jobs as pure decisions on the folded state: which confirmed bets
// the velocity and concentration rules flag, and which markets are past their endDate. Each
// decision is an event (FLAGGED, MARKET_CLOSED) carrying its reason and figures, appended through
// the same validation as any producer's line (engine/appender.h), so that every automated decision
// is in the audit trail and a decision that is no longer valid by the time it reaches the log is
// refused, never forced.
//
//   RiskRules rules{VelocityRule{}, ConcentrationRule{}};
//   for (const RiskHit& hit : FindRiskHits(state, rules)) events.push_back(FlagEventFor(hit, now));
//
// No I/O; thread-compatible (pure functions of their arguments).
#ifndef LEDGER_ENGINE_OPERATIONS_H_
#define LEDGER_ENGINE_OPERATIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event.h"
#include "engine/ledger_state.h"

namespace ledger {

// The seed's "High Velocity Wallets" query: 3 bets within 1 hour.
inline constexpr int32_t kVelocityBetsDefault = 3;
inline constexpr TimeMicros kVelocityWindowDefault = 3600LL * 1000000;
// A wallet holds at most kBetNumberMax bets per market, so thousands in one window means a typo.
inline constexpr int32_t kVelocityBetsMax = 10000;
// Shares are parts per million: 6 decimals are finer than any threshold a risk team sets.
inline constexpr int64_t kShareOne = 1000000;
inline constexpr int64_t kConcentrationShareDefault = 250000;  // 25%.
// Below this a side's pool is too small for a share of it to move a market: one early bettor
// holding 100% of a 20 USDT side is not manipulation. 1,000 USDT, about the seed's example pools.
inline constexpr int64_t kConcentrationSidePoolMinDefault = 1000LL * 1000000;

// At least `bets_min` bets by one wallet (any market, any status: the seed's query counts every Bet
// row) whose createdAt lie within `window` of each other: later - earlier < window, as the seed's
// "createdAt > NOW() - INTERVAL" is strict.
struct VelocityRule {
  int32_t bets_min = kVelocityBetsDefault;
  TimeMicros window = kVelocityWindowDefault;
};

// A wallet holding strictly more than `share` (parts per million) of one side of a market's pool,
// where that side holds at least `side_pool_min`. Holdings are the wallet's stakes in the pool:
// confirmed and flagged amounts, less what was clawed back.
struct ConcentrationRule {
  int64_t share = kConcentrationShareDefault;
  Micros side_pool_min{kConcentrationSidePoolMinDefault};
};

struct RiskRules {
  std::optional<VelocityRule> velocity;
  std::optional<ConcentrationRule> concentration;
};

// One confirmed bet a rule flags. Only CONFIRMED bets in markets not yet RESOLVED are flagged (a
// resolved market is settled; FLAGGED only follows CONFIRMED).
struct RiskHit {
  std::string bet_id;
  std::string wallet;
  std::string market_id;
  Severity severity = Severity::kLow;
  // "velocity: ..." and/or "concentration: ...", with the figures and the thresholds.
  std::string reason;
  bool velocity = false;
  bool concentration = false;
};

// Every bet the rules flag, one hit per bet (the more severe rule first in the reason when both
// apply), ordered by bet id. Bets already flagged are not CONFIRMED, so a second run finds nothing
// new.
std::vector<RiskHit> FindRiskHits(const LedgerState& state, const RiskRules& rules);

// The FLAGGED event that records `hit`, at `now`.
Event FlagEventFor(const RiskHit& hit, TimeMicros now);

// How far past its threshold a figure is: below 1.5x LOW, below 2x MEDIUM, below 3x HIGH, else
// CRITICAL. REQUIRES: 0 < threshold <= observed.
Severity SeverityPastThreshold(Int128 observed, Int128 threshold);

// "3/1h": bets and window (ParseDuration units); nullopt when malformed or out of range.
std::optional<VelocityRule> ParseVelocity(std::string_view text);
// "0.25" or "25%": a share strictly between 0 and 1 with at most 6 decimals, in parts per million.
std::optional<int64_t> ParseShare(std::string_view text);
// 250000 -> "25.00%" (two decimals, floor).
std::string FormatShare(int64_t share);

// MARKET_CLOSED, at `now`, for every ACTIVE market whose endDate is before `now` (the seed's "Close
// Expired Markets": endDate < utcnow()), in creation order.
std::vector<Event> ExpiredMarketCloses(const LedgerState& state, TimeMicros now);

}  // namespace ledger

#endif  // LEDGER_ENGINE_OPERATIONS_H_
