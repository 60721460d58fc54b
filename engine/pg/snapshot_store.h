// SnapshotStore: fold snapshots (schema/006, tables fold_snapshot and fold_snapshot_part; the bytes
// are engine/fold_snapshot.h's). One of the stores of a Database (database.h). Not thread-safe.
#ifndef LEDGER_ENGINE_PG_SNAPSHOT_STORE_H_
#define LEDGER_ENGINE_PG_SNAPSHOT_STORE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/byte_codec.h"
#include "engine/event.h"
#include "engine/snapshot_cache.h"

namespace ledger::pg {

struct Connection;

// Bytes a part row holds: small enough that the row stays below PostgreSQL's TOAST threshold
// (about 2 kB), so that reading a snapshot back is a sequential read of rows (snapshot_store.cc).
inline constexpr size_t kSnapshotPartBytes = 1900;
// Parts read by one query: about 8 MB, so that the client holds little beside the snapshot.
inline constexpr int64_t kSnapshotReadParts = 4096;
// Snapshots kept: the newest, and the one before it in case the newest turns out unusable.
inline constexpr int kSnapshotsKept = 2;

// Reads a snapshot's bytes from `in` as they arrive, given the position, hash and format it was
// stored with. May be called a second time, when the first bytes it was given turn out not to be
// the stored ones (a damaged local copy): it must then start again from a new fold.
using SnapshotDecoder =
    std::function<absl::Status(int64_t seq, const Sha256& hash, int format, ByteReader& in)>;

class SnapshotStore {
 public:
  // REQUIRES: `conn` outlives this store (the Database owns both).
  explicit SnapshotStore(Connection* conn) : conn_(conn) {}

  // Local copies of the snapshots this store saves and loads (engine/snapshot_cache.h); empty
  // (the default): none, every load reads the database.
  void set_cache_dir(std::string dir) { cache_ = SnapshotCache(std::move(dir)); }

  // Hands the newest snapshot to `decode`, its bytes read part by part as the decoder needs them
  // (never all in memory at once), from the local copy when there is one whose bytes hash to the
  // stored checksum, else from the database (and then cached). False when there is none.
  // kFailedPrecondition when the log's row at its position is gone or no longer has the hash it was
  // made from; kDataLoss when its bytes are not those it was stored with (length or SHA-256
  // checksum, known only once all are read: discard what `decode` built on any error); else
  // `decode`'s own error. Outside a transaction. With `at_most`, the newest at or before that
  // position (a projector needs a fold no further than its checkpoints).
  absl::StatusOr<bool> LoadLatest(const SnapshotDecoder& decode,
                                  int64_t at_most = std::numeric_limits<int64_t>::max());
  // The newest snapshot's position, 0 when there is none.
  absl::StatusOr<int64_t> LatestSeq();
  // Stores a snapshot in its own transaction (replacing one at the same position) and deletes all
  // but the newest kSnapshotsKept; once committed, caches it. Outside a transaction.
  absl::Status Save(int64_t seq, const Sha256& hash, int format, std::string_view bytes);

 private:
  Connection* conn_;
  SnapshotCache cache_{""};
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_SNAPSHOT_STORE_H_
