#include "engine/automation.h"

#include <sstream>

#include "engine/event_codec.h"
#include "engine/status_macros.h"

namespace ledger {
namespace {

// Appends `outcome->decided` with `appender`, whose state they were decided on.
absl::Status AppendDecisions(Appender& appender, bool dry_run, DecisionOutcome* outcome) {
  if (dry_run || outcome->decided.empty()) return absl::OkStatus();
  std::stringstream lines;
  for (const Event& event : outcome->decided) lines << EncodeEventJson(event) << '\n';
  return appender.Run(lines, &outcome->appended);
}

AppendOptions CollectRefusals(DecisionOutcome* outcome) {
  AppendOptions options;
  options.on_reject = [outcome](int64_t, const Rejection& r, std::string_view) {
    outcome->refused.push_back(r);
  };
  return options;
}

}  // namespace

absl::StatusOr<RulesOutcome> RunRiskRules(pg::Database* store, const RiskRules& rules,
                                          TimeMicros now, bool dry_run) {
  RulesOutcome result;
  Appender appender(store, CollectRefusals(&result.outcome));
  LEDGER_RETURN_IF_ERROR(appender.CatchUp());
  result.outcome.decided_at_seq = appender.head_seq();
  result.hits = FindRiskHits(appender.state(), rules);
  for (const RiskHit& hit : result.hits) result.outcome.decided.push_back(FlagEventFor(hit, now));
  LEDGER_RETURN_IF_ERROR(AppendDecisions(appender, dry_run, &result.outcome));
  return result;
}

absl::StatusOr<DecisionOutcome> CloseExpiredMarkets(pg::Database* store, TimeMicros now,
                                                    bool dry_run) {
  DecisionOutcome outcome;
  Appender appender(store, CollectRefusals(&outcome));
  LEDGER_RETURN_IF_ERROR(appender.CatchUp());
  outcome.decided_at_seq = appender.head_seq();
  outcome.decided = ExpiredMarketCloses(appender.state(), now);
  LEDGER_RETURN_IF_ERROR(AppendDecisions(appender, dry_run, &outcome));
  return outcome;
}

}  // namespace ledger
