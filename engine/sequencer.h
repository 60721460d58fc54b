// Sequencer: turns validated events into log rows: position, identity, stream version, hash chain.
//
// It owns the in-memory view an appender needs: the fold (LedgerState), the idempotency index and
// the chain head. It does no I/O: the appender feeds it the rows other writers committed (Replay)
// and offers it new events (Offer), then writes the rows it returns. Not thread-safe.
//
// REQUIRES: rows are replayed and offered strictly in position order, with no gap.
#ifndef LEDGER_ENGINE_SEQUENCER_H_
#define LEDGER_ENGINE_SEQUENCER_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/error_codes.h"
#include "engine/event.h"
#include "engine/hash_chain.h"
#include "engine/ledger_state.h"

namespace ledger {

class Sequencer {
 public:
  enum class Outcome : uint8_t {
    kAccepted,   // `row` is the new log row.
    kDuplicate,  // Same identity, same payload as the row at `existing_seq`: nothing to write.
    kConflict,   // Same identity as the row at `existing_seq`, different payload.
    kRejected,   // `rejection` says why.
  };
  struct Offered {
    Outcome outcome = Outcome::kRejected;
    std::optional<Rejection> rejection;
    int64_t existing_seq = 0;
    LoggedEvent row;
  };

  // Folds a row that is already in the log. A broken-chain error (engine/chain_guard.h) when it
  // does not continue the chain, kDataLoss when it breaks a rule: the log was altered.
  absl::Status Replay(const LoggedEvent& row);

  // Validates `event` against everything replayed and accepted so far and, when accepted, assigns
  // the next position and hash and applies it. `recorded_at` is the server time of the append.
  Offered Offer(Event event, TimeMicros recorded_at);

  int64_t head_seq() const { return head_seq_; }
  const Sha256& head_hash() const { return head_hash_; }
  const LedgerState& state() const { return state_; }

 private:
  // The identity index keeps 128-bit digests, not the keys and payloads themselves: 40 bytes an
  // event instead of ~130 (a 10M-event log: ~0.5 GB instead of ~1.3 GB). Truncated SHA-256, so two
  // different keys (or payloads) agreeing is beyond reach even for input crafted to collide.
  struct IdentityDigest {
    uint64_t hi = 0;
    uint64_t lo = 0;
    bool operator==(const IdentityDigest&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const IdentityDigest& d) {
      return H::combine(std::move(h), d.lo);  // Already uniform: one word is enough.
    }
  };
  struct IdentityEntry {
    int64_t seq = 0;
    IdentityDigest fingerprint;
  };
  static IdentityDigest Truncate(const Sha256& digest);
  static IdentityDigest KeyDigest(std::string_view identity_key);

  void Record(const IdentityDigest& key, const LoggedEvent& row);

  LedgerState state_;
  FoldMap<IdentityDigest, IdentityEntry> identities_;
  int64_t head_seq_ = 0;
  Sha256 head_hash_ = kGenesisHash;
};

// BetHistory.id for a row: a UUID (version 8, RFC 9562) derived from the identity key, so the same
// event always gets the same id, across re-runs and rebuilds.
std::string RowIdFor(std::string_view identity_key);

}  // namespace ledger

#endif  // LEDGER_ENGINE_SEQUENCER_H_
