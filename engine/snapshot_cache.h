// SnapshotCache: local copies of fold snapshots (engine/fold_snapshot.h), so that a process
// starting on the machine that saved or last read one reads its bytes from the page cache instead
// of from PostgreSQL (about half of a one-event `ledger append` on a 1M-event log went to that
// read, docs/performance.md "Session 15").
//
// A directory of files named by the SHA-256 checksum the database stored the snapshot with
// ("<64 hex>.fold"). The name is a claim, never trusted: a reader hashes the bytes as it decodes
// them and uses the fold only when they hash to that checksum (pg::SnapshotStore::LoadLatest); a
// file that does not is removed. Content-addressed, so one directory may serve several databases.
// Best effort: a cache that cannot be read or written costs the read from the database, nothing
// else. Files are written to a temporary name and renamed, so a reader never sees half of one.
//
//   SnapshotCache cache(dir);
//   std::optional<SnapshotCache::Reader> r = cache.Open(checksum, size);
//   while (r && r->Read(&buf)) { ... }
//   SnapshotCache::Writer w = cache.Create(checksum);
//   w.Append(bytes);
//   w.Commit();
//
// Thread-compatible; several processes may share a directory.
#ifndef LEDGER_ENGINE_SNAPSHOT_CACHE_H_
#define LEDGER_ENGINE_SNAPSHOT_CACHE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

// Cached snapshots kept: the database keeps two (pg::kSnapshotsKept); two more for a directory
// shared with another database, or a projector still starting from an older one. At 10M events a
// snapshot is about 500 MB, so four is about 2 GB of disk at most.
inline constexpr int kSnapshotCacheFilesKept = 4;
// Bytes a read hands the decoder at a time: as pg::kSnapshotReadParts' few MB, so that the
// decoder never holds more than this beside the fold.
inline constexpr size_t kSnapshotCacheReadBytes = size_t{4} << 20;
// A temporary file this old was left by a process that died while writing it.
inline constexpr int kSnapshotCacheStaleTmpSeconds = 3600;

class SnapshotCache {
 public:
  // An empty `dir` is a cache that holds nothing and stores nothing.
  explicit SnapshotCache(std::string dir) : dir_(std::move(dir)) {}

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

  // A cached file's bytes, read in order.
  class Reader {
   public:
    Reader(Reader&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader();
    // Appends up to kSnapshotCacheReadBytes to `out`; false at the end or on a read error (which
    // the caller sees as bytes short of the stored length).
    bool Read(std::string* out);

   private:
    friend class SnapshotCache;
    explicit Reader(int fd) : fd_(fd) {}
    int fd_;
  };
  // The file cached under `checksum` (hex) when there is one of exactly `size` bytes; a file of
  // another size is removed.
  std::optional<Reader> Open(std::string_view checksum, size_t size) const;
  // Removes the file cached under `checksum` (its bytes did not hash to its name).
  void Remove(std::string_view checksum) const;

  // A new cached file, written under a temporary name until Commit.
  class Writer {
   public:
    Writer(Writer&& other) noexcept;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer();  // Removes the temporary file unless committed.
    void Append(std::string_view bytes);
    // Renames the file into place, fsyncs nothing (a cache lost in a crash is read again from the
    // database), and removes all but the newest kSnapshotCacheFilesKept. False when any write
    // failed: nothing is left behind then.
    bool Commit();

   private:
    friend class SnapshotCache;
    Writer(const SnapshotCache* cache, std::string tmp_path, std::string path, int fd);
    const SnapshotCache* cache_;
    std::string tmp_path_;
    std::string path_;
    int fd_;
    bool failed_ = false;
  };
  // A writer for `checksum` (hex); one that writes nothing when the cache is disabled or its
  // directory cannot be made.
  Writer Create(std::string_view checksum) const;

 private:
  std::string PathOf(std::string_view checksum) const;
  // Keeps the newest kSnapshotCacheFilesKept cached files, and temporary files not yet stale.
  void Prune() const;

  std::string dir_;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_SNAPSHOT_CACHE_H_
