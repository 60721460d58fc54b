// LedgerState: the pure fold of the log. Apply(state, event) is the one piece of domain logic that
// append-time validation, projections, replay and verify all share.
//
//   LedgerState state;
//   if (std::optional<Rejection> r = state.Validate(event)) { ...refuse... }
//   state.Derive(&event);   // fills marketId/wallet from the bet
//   state.Apply(event);
//
// No I/O. Not thread-safe: one owner at a time.
#ifndef LEDGER_ENGINE_LEDGER_STATE_H_
#define LEDGER_ENGINE_LEDGER_STATE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "engine/error_codes.h"
#include "engine/event.h"

namespace ledger {

struct MarketState {
  std::string question;
  MarketStatus status = MarketStatus::kActive;
  std::optional<Choice> winner;
  Micros yes_pool;
  Micros no_pool;
  TimeMicros start_date = 0;
  TimeMicros end_date = 0;
  std::string contract_address;
  std::string gnosis_safe_address;
  TimeMicros created_at = 0;
  TimeMicros updated_at = 0;
  int32_t stream_version = 0;  // Events in the market's stream so far.
};

struct BetState {
  std::string market_id;
  std::string wallet;
  Choice choice = Choice::kYes;
  Micros amount;
  int32_t bet_number = 0;
  BetStatus status = BetStatus::kPending;
  std::optional<std::string> tx_hash;
  TimeMicros created_at = 0;
  std::optional<Micros> clawback_amount;
  std::optional<std::string> refund_tx_hash;
  int32_t stream_version = 0;
};

struct WalletFlagState {
  bool active = false;
  std::string market_id;
  std::string reason;
  Severity severity = Severity::kMedium;
  TimeMicros created_at = 0;
  std::optional<TimeMicros> unflagged_at;
  int32_t stream_version = 0;  // WALLET_UNFLAGGED events so far.
};

class LedgerState {
 public:
  // Whether `event` may be applied now; the reason when it may not. `event` need not be derived.
  std::optional<Rejection> Validate(const Event& event) const;

  // Fills the fields derived from state: marketId and wallet of a bet action, marketId of a
  // WALLET_UNFLAGGED. REQUIRES: Validate(*event) returned nullopt.
  void Derive(Event* event) const;

  // Applies a validated, derived event. REQUIRES: Validate(event) returned nullopt.
  void Apply(const Event& event);

  // The event's idempotency identity (docs/event-format.md): its eventId when given, else
  // (betId, action), (marketId, action), or (wallet, createdAt, action) for WALLET_UNFLAGGED.
  // A function of the event alone, so a re-sent event has the same identity whatever came since.
  static std::string IdentityKey(const Event& event);

  // "bet:<betId>", "market:<marketId>" or "wallet:<address>", and the event's 1-based version in it.
  static std::string StreamId(const Event& event);
  int32_t NextStreamVersion(const Event& event) const;

  const absl::flat_hash_map<std::string, MarketState>& markets() const { return markets_; }
  const absl::flat_hash_map<std::string, BetState>& bets() const { return bets_; }
  const absl::flat_hash_map<std::string, WalletFlagState>& wallets() const { return wallets_; }

  const MarketState* FindMarket(std::string_view market_id) const;
  const BetState* FindBet(std::string_view bet_id) const;

 private:
  std::optional<Rejection> ValidateMarketAction(const Event& event) const;
  std::optional<Rejection> ValidatePlaced(const Event& event) const;
  std::optional<Rejection> ValidateBetAction(const Event& event, const BetState& bet) const;
  void ApplyBetAction(const Event& event, BetState& bet);

  absl::flat_hash_map<std::string, MarketState> markets_;
  absl::flat_hash_map<std::string, BetState> bets_;
  // (marketId, wallet, betNumber) of every bet, for the seed's UNIQUE constraint.
  absl::flat_hash_set<std::string> bet_numbers_;
  absl::flat_hash_map<std::string, WalletFlagState> wallets_;
};

// Names of the identity-payload fields in which `a` and `b` differ (createdAt and derived fields aside).
std::vector<std::string> DifferingFields(const Event& a, const Event& b);

}  // namespace ledger

#endif  // LEDGER_ENGINE_LEDGER_STATE_H_
