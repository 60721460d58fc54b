// ChainGuard: the reader's half of the hash-chain check (LogStore::Write does the writer's). Every
// command that derives state or output from the log passes each row it reads through a guard before
// using it, so that nothing is built on a log that was altered: a broken chain ends the command
// with a broken-chain error (exit 3, the first bad position and its kind), unless the caller asked
// to read it anyway for forensics, in which case the first break is kept and the output is marked
// untrusted. Pure; not thread-safe.
//
//   ChainGuard guard(0, kGenesisHash, trust);
//   RETURN_IF_ERROR(db->log().Stream(0, [&](const LoggedEvent& row) {
//     RETURN_IF_ERROR(guard.Check(row));
//     return fold.Apply(row);
//   }));
#ifndef LEDGER_ENGINE_CHAIN_GUARD_H_
#define LEDGER_ENGINE_CHAIN_GUARD_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/event.h"
#include "engine/hash_chain.h"

namespace ledger {

// What a reader trusts. In: whether to go on past a break (`--allow-broken-chain`). Out: the first
// break seen when it went on; the command then marks its output untrusted.
struct ChainTrust {
  bool allow_broken = false;
  std::optional<ChainBreak> first_break;
};

// The status of a log whose chain is broken: kDataLoss, with a payload that IsBrokenChain finds,
// and the message "the log's hash chain is broken at seq N: KIND: detail".
absl::Status BrokenChainError(const ChainBreak& at);
bool IsBrokenChain(const absl::Status& status);

class ChainGuard {
 public:
  // A reader that starts after the row (`after_seq`, `after_hash`): (0, kGenesisHash) for one that
  // reads from the beginning. `trust` may be null (refuse every break); it must outlive the guard.
  ChainGuard(int64_t after_seq, const Sha256& after_hash, ChainTrust* trust);
  // A reader that starts after `after_seq` without its hash (the row is not written yet): the first
  // row's prevHash is taken as given; its position and its own hash are still checked.
  static ChainGuard Unanchored(int64_t after_seq, ChainTrust* trust);

  // OK when `row` continues the chain. Otherwise BrokenChainError naming the first fault, or, when
  // the trust allows broken chains, OK with the first break recorded there. Either way the next
  // row is checked against this one, as verify does.
  absl::Status Check(const LoggedEvent& row);

 private:
  int64_t prev_seq_;
  Sha256 prev_hash_;
  bool anchored_ = true;
  ChainTrust* trust_;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_CHAIN_GUARD_H_
