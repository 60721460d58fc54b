// Fold snapshots: an appender's whole view of the log (engine/sequencer.h) at one position, as
// bytes, so that `ledger append` and `ledger serve` start from it instead of folding the whole log
// (docs/decisions.md, "Fast start"). Pure: the bytes are stored by pg::SnapshotStore.
//
// Layout (engine/byte_codec.h, little-endian): the magic "DHFOLD\0\0", the format (u32), then
// Sequencer::Save: head seq, head hash, identity filter, LedgerState. The format changes whenever
// the layout or the fold's rules do; a snapshot of another format is not used (a full fold is).
#ifndef LEDGER_ENGINE_FOLD_SNAPSHOT_H_
#define LEDGER_ENGINE_FOLD_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/byte_codec.h"
#include "engine/sequencer.h"

namespace ledger {

// 2: log time and each market's pools_moved_at (a projector starts from a snapshot too).
inline constexpr uint32_t kFoldSnapshotFormat = 2;
// A fold that replayed at least this many rows past its snapshot saves a new one (`ledger append`,
// `ledger serve` when it stops): about a second of folding saved at the next start, for a write of
// a few MB per 100k events.
inline constexpr int64_t kFoldSnapshotTailEvents = 100000;

std::string EncodeFoldSnapshot(const Sequencer& sequencer);

// Loads `bytes` into `*out`. kDataLoss naming what is wrong when they are not a snapshot of this
// format, or malformed; kFailedPrecondition when their head is not (`seq`, `hash`), the position
// and hash they were stored under. REQUIRES: *out is new; discard it on an error.
absl::Status DecodeFoldSnapshot(std::string_view bytes, int64_t seq, const Sha256& hash,
                                Sequencer* out);
// The same, reading the bytes from `in` as they come (pg::SnapshotStore::LoadLatest).
absl::Status DecodeFoldSnapshot(ByteReader& in, int64_t seq, const Sha256& hash, Sequencer* out);
// The same for a snapshot stored with `format` (its row's column): kDataLoss, naming both formats,
// when that is not this binary's, before reading any byte.
absl::Status DecodeStoredFoldSnapshot(ByteReader& in, int64_t seq, const Sha256& hash, int format,
                                      Sequencer* out);

}  // namespace ledger

#endif  // LEDGER_ENGINE_FOLD_SNAPSHOT_H_
