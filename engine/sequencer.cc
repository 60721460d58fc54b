#include "engine/sequencer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/hash_chain.h"
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

void Sequencer::Record(const LoggedEvent& row) {
  identities_[row.identity_key] = IdentityEntry{row.seq, PayloadFingerprint(row.event)};
  head_seq_ = row.seq;
  head_hash_ = row.hash;
}

absl::Status Sequencer::Replay(const LoggedEvent& row) {
  if (row.seq != head_seq_ + 1 || row.prev_hash != head_hash_ ||
      ChainHash(row.prev_hash, row) != row.hash) {
    return absl::DataLossError(StrCat("log row at seq ", row.seq,
                                      " does not continue the hash chain from seq ", head_seq_));
  }
  if (std::optional<Rejection> bad = state_.TryApply(row.event, [](const BetState*) {})) {
    return absl::DataLossError(StrCat("log row at seq ", row.seq, " breaks a rule: ",
                                      ErrorCodeName(bad->code), ": ", bad->message));
  }
  Record(row);
  return absl::OkStatus();
}

Sequencer::Offered Sequencer::Offer(Event event, TimeMicros recorded_at) {
  Offered out;
  const std::string key = state_.IdentityKey(event);
  if (auto it = identities_.find(key); it != identities_.end()) {
    out.existing_seq = it->second.seq;
    out.outcome = it->second.fingerprint == PayloadFingerprint(event) ? Outcome::kDuplicate
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
  Record(row);
  out.outcome = Outcome::kAccepted;
  return out;
}

}  // namespace ledger
