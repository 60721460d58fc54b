#include "engine/chain_guard.h"

#include "absl/strings/cord.h"
#include "engine/hash_chain.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

// The payload type URL that marks a broken-chain status.
constexpr char kBrokenChainPayload[] = "ledger/broken-chain";

}  // namespace

absl::Status BrokenChainError(const ChainBreak& at) {
  absl::Status status = absl::DataLossError(
      StrCat("the log's hash chain is broken at seq ", at.seq, ": ", at.kind, ": ", at.detail));
  status.SetPayload(kBrokenChainPayload, absl::Cord(at.kind));
  return status;
}

bool IsBrokenChain(const absl::Status& status) {
  return status.GetPayload(kBrokenChainPayload).has_value();
}

ChainGuard::ChainGuard(int64_t after_seq, const Sha256& after_hash, ChainTrust* trust)
    : prev_seq_(after_seq), prev_hash_(after_hash), trust_(trust) {}

ChainGuard ChainGuard::Unanchored(int64_t after_seq, ChainTrust* trust) {
  ChainGuard guard(after_seq, kGenesisHash, trust);
  guard.anchored_ = false;
  return guard;
}

absl::Status ChainGuard::Check(const LoggedEvent& row) {
  if (!anchored_) {
    prev_hash_ = row.prev_hash;
    anchored_ = true;
  }
  const LinkFaults faults = CheckLink(prev_seq_, prev_hash_, row);
  const int64_t prev_seq = prev_seq_;
  const Sha256 prev_hash = prev_hash_;
  prev_seq_ = row.seq;
  prev_hash_ = row.hash;
  if (faults.ok()) return absl::OkStatus();
  ChainBreak at = faults.Describe(prev_seq, prev_hash, row).front();
  if (trust_ == nullptr || !trust_->allow_broken) return BrokenChainError(at);
  if (!trust_->first_break) trust_->first_break = std::move(at);
  return absl::OkStatus();
}

}  // namespace ledger
