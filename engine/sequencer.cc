#include "engine/sequencer.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/chain_guard.h"
#include "engine/check.h"
#include "engine/hash_chain.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger {

std::string RowIdFor(std::string_view identity_key) {
  Sha256 digest = Sha256Of(StrCat("BetHistory.id\x1f", identity_key));
  digest[6] = static_cast<uint8_t>((digest[6] & 0x0f) | 0x80);  // Version 8: custom.
  digest[8] = static_cast<uint8_t>((digest[8] & 0x3f) | 0x80);  // RFC 9562 variant.
  const std::string hex = ToHex(digest);
  return StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                hex.substr(16, 4), "-", hex.substr(20, 12));
}

Sequencer::IdentityDigest Sequencer::Truncate(const Sha256& digest) {
  IdentityDigest out;
  std::memcpy(&out.hi, digest.data(), sizeof(out.hi));
  std::memcpy(&out.lo, digest.data() + sizeof(out.hi), sizeof(out.lo));
  return out;
}

Sequencer::IdentityDigest Sequencer::KeyDigest(std::string_view identity_key) {
  return Truncate(Sha256Of(StrCat("identityKey\x1f", identity_key)));
}

void Sequencer::Record(const IdentityDigest& key, const LoggedEvent& row) {
  LEDGER_CHECK(row.seq == head_seq_ + 1, "position ", row.seq, " recorded after ", head_seq_);
  filter_.Insert(FilterKey(key));
  head_seq_ = row.seq;
  head_hash_ = row.hash;
}

void Sequencer::BeginBatch() { batch_.clear(); }

std::vector<std::string> Sequencer::Unresolved(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const std::string& key : keys) {
    const IdentityDigest digest = KeyDigest(key);
    const bool maybe = filter_.MayContain(FilterKey(digest));
    if (batch_.try_emplace(digest, IdentityEntry{}).second && maybe) out.push_back(key);
  }
  return out;
}

void Sequencer::Resolve(const LoggedEvent& row) {
  batch_[KeyDigest(row.identity_key)] =
      IdentityEntry{row.seq, Truncate(PayloadFingerprint(row.event))};
}

void Sequencer::BeginGroup() {
  LEDGER_CHECK(!group_, "a group inside another");
  group_ = Group{head_seq_, head_hash_, state_.BeginUndoable(), {}};
}

void Sequencer::UndoGroup() {
  LEDGER_CHECK(group_, "UndoGroup outside a group");
  state_.Undo(group_->mark);
  head_seq_ = group_->head_seq;
  head_hash_ = group_->head_hash;
  // Looked up before the group and not in the log: new again, should a later line bring them.
  for (const IdentityDigest& key : group_->accepted) batch_[key] = IdentityEntry{};
  group_.reset();
}

void Sequencer::EndGroup() {
  LEDGER_CHECK(group_, "EndGroup outside a group");
  state_.KeepChanges(group_->mark);
  group_.reset();
}

void Sequencer::BeginTentative() {
  LEDGER_CHECK(!tentative_ && !group_, "a tentative batch inside another, or inside a group");
  tentative_ = Group{head_seq_, head_hash_, state_.BeginUndoable(), {}};
}

void Sequencer::UndoTentative() {
  LEDGER_CHECK(tentative_ && !group_, "UndoTentative outside a tentative batch, or in a group");
  state_.Undo(tentative_->mark);
  head_seq_ = tentative_->head_seq;
  head_hash_ = tentative_->head_hash;
  tentative_.reset();
}

void Sequencer::KeepTentative() {
  LEDGER_CHECK(tentative_ && !group_, "KeepTentative outside a tentative batch, or in a group");
  state_.KeepChanges(tentative_->mark);
  tentative_.reset();
}

void Sequencer::Save(ByteWriter& out) const {
  out.I64(head_seq_);
  out.Bytes(head_hash_.data(), head_hash_.size());
  filter_.Save(out);
  state_.Save(out);
}

bool Sequencer::Load(ByteReader& in) {
  if (head_seq_ != 0) return false;
  const int64_t seq = in.I64();
  Sha256 hash{};
  const std::string_view hash_bytes = in.Bytes(hash.size());
  if (!in.ok() || seq < 0) return false;
  std::memcpy(hash.data(), hash_bytes.data(), hash.size());  // The view ends at the next read.
  if (!filter_.Load(in) || !state_.Load(in)) return false;
  head_seq_ = seq;
  head_hash_ = hash;
  return true;
}

absl::Status Sequencer::Replay(const LoggedEvent& row) {
  ChainGuard guard(head_seq_, head_hash_, /*trust=*/nullptr);
  LEDGER_RETURN_IF_ERROR(guard.Check(row));
  if (std::optional<Rejection> bad = state_.TryApply(row.event, [](const BetState*) {})) {
    return absl::DataLossError(StrCat("log row at seq ", row.seq, " breaks a rule: ",
                                      ErrorCodeName(bad->code), ": ", bad->message));
  }
  Record(KeyDigest(row.identity_key), row);
  return absl::OkStatus();
}

Sequencer::Offered Sequencer::Offer(Event event, TimeMicros recorded_at) {
  Offered out;
  const std::string key = state_.IdentityKey(event);
  const IdentityDigest key_digest = KeyDigest(key);
  auto it = batch_.find(key_digest);
  LEDGER_CHECK(it != batch_.end() || !filter_.MayContain(FilterKey(key_digest)), "identity ", key,
               " offered without being looked up in the log");
  if (it != batch_.end() && it->second.seq != 0) {
    out.existing_seq = it->second.seq;
    out.outcome = it->second.fingerprint == Truncate(PayloadFingerprint(event))
                      ? Outcome::kDuplicate
                      : Outcome::kConflict;
    return out;
  }
  if (std::optional<Rejection> bad = state_.Validate(event)) {
    out.rejection = std::move(bad);
    return out;
  }
  state_.Derive(&event);
  LoggedEvent& row = out.row;
  row.seq = head_seq_ + 1;
  row.identity_key = key;
  row.id = RowIdFor(key);
  row.stream_id = LedgerState::StreamId(event);
  row.stream_version = state_.NextStreamVersion(event);
  row.recorded_at = recorded_at;
  row.event = std::move(event);
  row.prev_hash = head_hash_;
  row.hash = ChainHash(row.prev_hash, row);
  state_.Apply(row.event);
  Record(key_digest, row);
  batch_[key_digest] = IdentityEntry{row.seq, Truncate(PayloadFingerprint(row.event))};
  if (group_) group_->accepted.push_back(key_digest);
  out.outcome = Outcome::kAccepted;
  return out;
}

}  // namespace ledger
