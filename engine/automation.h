// The operations of engine/operations.h run against the log: fold it, decide, append the decisions
// as events through the appender (validated, exactly-once by identity, under the log lock). One
// fold serves both the decision and the append (Appender::CatchUp).
//
//   ASSIGN_OR_RETURN(RulesOutcome out, RunRiskRules(store, rules, NowMicros(), /*dry_run=*/false));
//
// Not thread-safe; `store` is used for the duration of the call.
#ifndef LEDGER_ENGINE_AUTOMATION_H_
#define LEDGER_ENGINE_AUTOMATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/appender.h"
#include "engine/operations.h"
#include "engine/pg/database.h"

namespace ledger {

// What a run decided and what became of it.
struct DecisionOutcome {
  int64_t decided_at_seq = 0;  // The log position the decisions were taken at.
  std::vector<Event> decided;  // In the order appended.
  AppendSummary appended;      // All zero on a dry run.
  // Decisions the log refused when appended: another writer changed the state in between (a bet
  // clawed back, a market closed by hand). The rule's verdict no longer applies; nothing is forced.
  std::vector<Rejection> refused;
};

struct RulesOutcome {
  std::vector<RiskHit> hits;
  DecisionOutcome outcome;
};

// `ledger rules run`: FLAGGED for every hit of `rules`, at `now`. A dry run appends nothing.
absl::StatusOr<RulesOutcome> RunRiskRules(pg::Database* store, const RiskRules& rules,
                                          TimeMicros now, bool dry_run);

// `ledger markets close-expired`: MARKET_CLOSED for every ACTIVE market whose endDate < `now`.
absl::StatusOr<DecisionOutcome> CloseExpiredMarkets(pg::Database* store, TimeMicros now,
                                                    bool dry_run);

}  // namespace ledger

#endif  // LEDGER_ENGINE_AUTOMATION_H_
