#include "engine/snapshot_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/str_cat.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".fold";
constexpr std::string_view kTmpSuffix = ".tmp";
constexpr size_t kChecksumHexDigits = 64;

// Whether `checksum` is what the database stores (64 lowercase hex digits): the only text that
// becomes a file name, so a damaged or hostile row cannot name a path outside the directory.
bool IsChecksum(std::string_view checksum) {
  return checksum.size() == kChecksumHexDigits &&
         std::all_of(checksum.begin(), checksum.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

SnapshotCache::Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

bool SnapshotCache::Reader::Read(std::string* out) {
  const size_t before = out->size();
  out->resize(before + kSnapshotCacheReadBytes);
  ssize_t n;
  do {
    n = ::read(fd_, out->data() + before, kSnapshotCacheReadBytes);
  } while (n < 0 && errno == EINTR);
  out->resize(before + static_cast<size_t>(std::max<ssize_t>(n, 0)));
  return n > 0;
}

std::string SnapshotCache::PathOf(std::string_view checksum) const {
  if (!enabled() || !IsChecksum(checksum)) return "";
  return StrCat(dir_, "/", checksum, kSuffix);
}

std::optional<SnapshotCache::Reader> SnapshotCache::Open(std::string_view checksum,
                                                         size_t size) const {
  const std::string path = PathOf(checksum);
  if (path.empty()) return std::nullopt;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Reader reader(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) != size) {
    Remove(checksum);
    return std::nullopt;
  }
  // The file is read once, in order: say so, so that the kernel reads ahead of the decoder.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return reader;
}

void SnapshotCache::Remove(std::string_view checksum) const {
  const std::string path = PathOf(checksum);
  if (!path.empty()) (void)::unlink(path.c_str());
}

SnapshotCache::Writer::Writer(const SnapshotCache* cache, std::string tmp_path, std::string path,
                              int fd)
    : cache_(cache), tmp_path_(std::move(tmp_path)), path_(std::move(path)), fd_(fd) {}

SnapshotCache::Writer::Writer(Writer&& other) noexcept
    : cache_(other.cache_),
      tmp_path_(std::move(other.tmp_path_)),
      path_(std::move(other.path_)),
      fd_(other.fd_),
      failed_(other.failed_) {
  other.fd_ = -1;
}

SnapshotCache::Writer::~Writer() {
  if (fd_ < 0) return;
  ::close(fd_);
  (void)::unlink(tmp_path_.c_str());
}

void SnapshotCache::Writer::Append(std::string_view bytes) {
  while (fd_ >= 0 && !failed_ && !bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      return;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

bool SnapshotCache::Writer::Commit() {
  if (fd_ < 0) return false;
  const int fd = std::exchange(fd_, -1);
  const bool written = ::close(fd) == 0 && !failed_;
  if (!written || ::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    (void)::unlink(tmp_path_.c_str());
    return false;
  }
  cache_->Prune();
  return true;
}

SnapshotCache::Writer SnapshotCache::Create(std::string_view checksum) const {
  const std::string path = PathOf(checksum);
  std::error_code error;
  if (path.empty() || (fs::create_directories(dir_, error), error)) {
    return Writer(this, "", "", -1);
  }
  // Private: a snapshot holds every wallet's bets. Unique per process, so that two processes
  // caching the same snapshot do not write into one file.
  (void)::chmod(dir_.c_str(), 0700);
  std::string tmp = StrCat(path, ".", ::getpid(), kTmpSuffix);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Writer(this, "", "", -1);
  return Writer(this, std::move(tmp), path, fd);
}

void SnapshotCache::Prune() const {
  std::error_code error;
  std::vector<std::pair<fs::file_time_type, fs::path>> cached;
  const auto now = fs::file_time_type::clock::now();
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    const fs::file_time_type written = entry.last_write_time(error);
    if (error) continue;
    if (EndsWith(name, kSuffix) && IsChecksum(name.substr(0, name.size() - kSuffix.size()))) {
      cached.emplace_back(written, entry.path());
    } else if (EndsWith(name, kTmpSuffix) &&
               now - written > std::chrono::seconds(kSnapshotCacheStaleTmpSeconds)) {
      fs::remove(entry.path(), error);
    }
  }
  if (cached.size() <= static_cast<size_t>(kSnapshotCacheFilesKept)) return;
  std::sort(cached.begin(), cached.end(), [](const auto& a, const auto& b) { return a > b; });
  for (size_t i = kSnapshotCacheFilesKept; i < cached.size(); ++i)
    fs::remove(cached[i].second, error);
}

}  // namespace ledger
