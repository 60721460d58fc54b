// Clawback reconciliation: proves every clawback was refunded, once, to the right wallet, for the
// right amount, from the market's Gnosis Safe.
//
// From the log alone: clawbacks with no refund (and for how long), refunds with no clawback, double
// refunds, refund tx hashes used twice. With an on-chain export (CSV:
// txHash,from,to,amount,timestamp), also: each refund matched to its transfer (exists, to the bet's
// wallet, for the clawed-back amount, from the market's Safe), and each transfer out of a market's
// Safe that no refund in the log claims. The log is read raw (not through the rules), so reconcile
// also reports what a tampered log holds.
#ifndef LEDGER_REPLAY_RECONCILE_H_
#define LEDGER_REPLAY_RECONCILE_H_

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/chain_guard.h"
#include "engine/pg/database.h"

namespace ledger {

struct Finding {
  // CLAWBACK_NOT_REFUNDED, REFUND_WITHOUT_CLAWBACK, DOUBLE_REFUND, REFUND_TX_REUSED,
  // REFUND_NOT_ON_CHAIN, REFUND_WRONG_WALLET, REFUND_AMOUNT_MISMATCH, REFUND_WRONG_SOURCE,
  // UNKNOWN_ONCHAIN_REFUND, BAD_CHAIN_LINE.
  std::string kind;
  std::string bet_id;
  std::string market_id;
  std::string wallet;
  int64_t seq = 0;  // The log row it concerns (0: none).
  std::string tx_hash;
  std::string detail;
  int64_t age_seconds = 0;  // CLAWBACK_NOT_REFUNDED: time since the clawback.
};

struct ReconcileReport {
  int64_t clawbacks = 0;
  int64_t refunds = 0;
  int64_t clawed_back_micros = 0;
  int64_t chain_transfers = 0;
  std::vector<Finding> findings;
  bool reconciled() const { return findings.empty(); }
};

// `chain` is the CSV export, or nullptr. `now` dates the unrefunded clawbacks.
absl::StatusOr<ReconcileReport> Reconcile(pg::Database* store, std::istream* chain, TimeMicros now,
                                          ChainTrust* trust = nullptr);

}  // namespace ledger

#endif  // LEDGER_REPLAY_RECONCILE_H_
