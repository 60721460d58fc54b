// Sequencer: turns validated events into log rows: position, identity, stream version, hash chain.
//
// It owns the in-memory view an appender needs: the fold (LedgerState), a filter of the log's
// idempotency identities (engine/identity_filter.h) and the chain head. It does no I/O: the
// appender feeds it the rows other writers committed (Replay), asks which identities of a batch
// must be looked up in the log (Unresolved), hands it the rows it found (Resolve), offers it the
// batch's events (Offer), then writes the rows it returns:
//
//   sequencer.BeginBatch();
//   for (const std::string& key : sequencer.Unresolved(keys)) ...look up, Resolve(row)...
//   for (Event& e : events) Offered o = sequencer.Offer(std::move(e), now);
//
// Not thread-safe. REQUIRES: rows are replayed and offered strictly in position order, no gap.
#ifndef LEDGER_ENGINE_SEQUENCER_H_
#define LEDGER_ENGINE_SEQUENCER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/error_codes.h"
#include "engine/event.h"
#include "engine/hash_chain.h"
#include "engine/identity_filter.h"
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

  // `filter_keys_first`: the identity filter's first layer (engine/identity_filter.h); tests make
  // it tiny so that most lookups are false positives.
  explicit Sequencer(uint64_t filter_keys_first = kIdentityFilterKeysFirst)
      : filter_(filter_keys_first) {}

  // Folds a row that is already in the log. A broken-chain error (engine/chain_guard.h) when it
  // does not continue the chain, kDataLoss when it breaks a rule: the log was altered.
  absl::Status Replay(const LoggedEvent& row);

  // Starts a batch: forgets the identities the last one accepted and looked up.
  void BeginBatch();
  // The identity keys among `keys` that the log may already hold and that this batch has neither
  // accepted nor looked up: the caller looks each up in the log and calls Resolve with the row it
  // finds (a key not found is new). Every key passed is settled for the batch: the filter's answer
  // is taken now, since the batch's own accepted events make it say "maybe" to more keys later.
  std::vector<std::string> Unresolved(const std::vector<std::string>& keys);
  // A stored row found for a key that Unresolved returned.
  void Resolve(const LoggedEvent& row);

  // Validates `event` against everything replayed and accepted so far and, when accepted, assigns
  // the next position and hash and applies it. `recorded_at` is the server time of the append.
  // REQUIRES: the event's identity key was passed to Unresolved in this batch (or the filter rules
  // it out); a LEDGER_CHECK failure otherwise, since a duplicate could pass unseen.
  Offered Offer(Event event, TimeMicros recorded_at);

  // All-or-nothing groups (`?atomic=true`): events offered after BeginGroup are taken back by
  // UndoGroup (state, head and this batch's identities as before BeginGroup) or kept by EndGroup.
  // The identity filter keeps the undone events' keys: it may say "maybe" where the answer is no,
  // never the reverse.
  void BeginGroup();
  void UndoGroup();
  void EndGroup();

  // A batch written in one round trip (engine/appender.h), found, when it came to be written, to
  // continue a head another writer had moved: events offered after BeginTentative are taken back by
  // UndoTentative (state and head as before; the identity filter keeps their keys, as for a group)
  // or kept by KeepTentative. Groups may be inside one.
  void BeginTentative();
  void UndoTentative();
  void KeepTentative();

  // The fold, the identity filter and the head as bytes (engine/fold_snapshot.h), and back.
  void Save(ByteWriter& out) const;
  // REQUIRES: this sequencer is new. False when the bytes are malformed: discard it then.
  bool Load(ByteReader& in);

  const IdentityFilter& identity_filter() const { return filter_; }
  int64_t head_seq() const { return head_seq_; }
  const Sha256& head_hash() const { return head_hash_; }
  const LedgerState& state() const { return state_; }
  // Moves the fold out (a projector resumed from a fold snapshot takes it); this sequencer is left
  // with an empty one and must not be used again.
  LedgerState ReleaseState() && { return std::move(state_); }

 private:
  // Identities are kept as 128-bit digests, not the keys and payloads themselves. Truncated
  // SHA-256, so two different keys (or payloads) agreeing is beyond reach even for input crafted to
  // collide.
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

  static IdentityFilter::Key FilterKey(const IdentityDigest& d) { return {d.hi, d.lo}; }

  // Moves the head to `row` and adds its identity to the filter.
  void Record(const IdentityDigest& key, const LoggedEvent& row);

  LedgerState state_;
  IdentityFilter filter_;
  // This batch's identities: accepted by it, or settled by Unresolved (with the row found, or
  // seq 0: not in the log).
  absl::flat_hash_map<IdentityDigest, IdentityEntry> batch_;
  // While in a group or a tentative batch: the head before it, the state's undo mark, and (groups)
  // the identities it accepted.
  struct Group {
    int64_t head_seq = 0;
    Sha256 head_hash{};
    size_t mark = 0;
    std::vector<IdentityDigest> accepted;
  };
  std::optional<Group> group_;
  std::optional<Group> tentative_;
  int64_t head_seq_ = 0;
  Sha256 head_hash_ = kGenesisHash;
};

// BetHistory.id for a row: a UUID (version 8, RFC 9562) derived from the identity key, so the same
// event always gets the same id, across re-runs and rebuilds.
std::string RowIdFor(std::string_view identity_key);

}  // namespace ledger

#endif  // LEDGER_ENGINE_SEQUENCER_H_
