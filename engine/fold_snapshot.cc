#include "engine/fold_snapshot.h"

#include "engine/byte_codec.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

constexpr std::string_view kMagic("DHFOLD\0\0", 8);

}  // namespace

std::string EncodeFoldSnapshot(const Sequencer& sequencer) {
  ByteWriter out;
  out.Bytes(kMagic.data(), kMagic.size());
  out.U32(kFoldSnapshotFormat);
  sequencer.Save(out);
  return out.Take();
}

absl::Status DecodeFoldSnapshot(std::string_view bytes, int64_t seq, const Sha256& hash,
                                Sequencer* out) {
  ByteReader in(bytes);
  return DecodeFoldSnapshot(in, seq, hash, out);
}

absl::Status DecodeFoldSnapshot(ByteReader& in, int64_t seq, const Sha256& hash, Sequencer* out) {
  if (in.Bytes(kMagic.size()) != kMagic) {
    return absl::DataLossError("not a fold snapshot (its first bytes are not DHFOLD)");
  }
  if (const uint32_t format = in.U32(); format != kFoldSnapshotFormat) {
    return absl::DataLossError(
        StrCat("fold snapshot format ", format, ", this binary reads ", kFoldSnapshotFormat));
  }
  if (!out->Load(in)) return absl::DataLossError("fold snapshot malformed or truncated");
  if (!in.AtEnd()) return absl::DataLossError("fold snapshot has bytes past its end");
  if (out->head_seq() != seq || out->head_hash() != hash) {
    return absl::FailedPreconditionError(StrCat("fold snapshot holds seq ", out->head_seq(),
                                                " but was stored as seq ", seq,
                                                " with another hash"));
  }
  return absl::OkStatus();
}

absl::Status DecodeStoredFoldSnapshot(ByteReader& in, int64_t seq, const Sha256& hash, int format,
                                      Sequencer* out) {
  if (format != static_cast<int>(kFoldSnapshotFormat)) {
    return absl::DataLossError(
        StrCat("fold snapshot format ", format, ", this binary reads ", kFoldSnapshotFormat));
  }
  return DecodeFoldSnapshot(in, seq, hash, out);
}

}  // namespace ledger
