// Specification of the local snapshot cache: a committed copy reads back byte for byte under its
// checksum; nothing is visible before Commit or after a failed write; a name that is not a
// checksum never becomes a path; a copy of the wrong length is removed; the newest
// kSnapshotCacheFilesKept are kept.
#include "engine/snapshot_cache.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "engine/hash_chain.h"
#include "tests/process.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(SnapshotCache::Reader& reader) {
  std::string out;
  while (reader.Read(&out)) {
  }
  return out;
}

// Bytes longer than one read, so that reading back crosses kSnapshotCacheReadBytes.
std::string Bytes(char fill) { return std::string(kSnapshotCacheReadBytes + 12345, fill); }

std::string ChecksumOf(const std::string& bytes) { return ToHex(Sha256Of(bytes)); }

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

// Writes `bytes` to `cache` under their checksum, in one Append; the checksum.
std::string Store(const SnapshotCache& cache, const std::string& bytes) {
  const std::string sum = ChecksumOf(bytes);
  SnapshotCache::Writer writer = cache.Create(sum);
  writer.Append(bytes);
  BOOST_REQUIRE(writer.Commit());
  return sum;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(snapshot_cache)

BOOST_AUTO_TEST_CASE(a_committed_copy_reads_back_under_its_checksum_and_not_before) {
  testing::TempDir tmp;
  const SnapshotCache cache(tmp / "cache");
  const std::string bytes = Bytes('a');
  const std::string sum = ChecksumOf(bytes);
  SnapshotCache::Writer writer = cache.Create(sum);
  writer.Append(std::string_view(bytes).substr(0, 100));
  writer.Append(std::string_view(bytes).substr(100));
  BOOST_TEST(!cache.Open(sum, bytes.size()).has_value());  // Not before Commit.
  BOOST_TEST(writer.Commit());
  std::optional<SnapshotCache::Reader> reader = cache.Open(sum, bytes.size());
  BOOST_REQUIRE(reader.has_value());
  BOOST_TEST(ReadAll(*reader) == bytes);
  BOOST_TEST(FilesIn(tmp / "cache") == 1u);
  BOOST_TEST(((fs::status(tmp / "cache").permissions() & fs::perms::group_all) == fs::perms::none));
}

BOOST_AUTO_TEST_CASE(an_uncommitted_writer_leaves_nothing_behind) {
  testing::TempDir tmp;
  const SnapshotCache cache(tmp / "cache");
  const std::string bytes = Bytes('b');
  {
    SnapshotCache::Writer writer = cache.Create(ChecksumOf(bytes));
    writer.Append(bytes);
  }
  BOOST_TEST(FilesIn(tmp / "cache") == 0u);
}

BOOST_AUTO_TEST_CASE(a_name_that_is_not_a_checksum_never_becomes_a_path) {
  testing::TempDir tmp;
  const SnapshotCache cache(tmp / "cache");
  for (const std::string& name :
       {std::string("../escape"), std::string(64, 'A'), std::string(63, 'a'), std::string("")}) {
    SnapshotCache::Writer writer = cache.Create(name);
    writer.Append("bytes");
    BOOST_TEST(!writer.Commit(), name);
    BOOST_TEST(!cache.Open(name, 5).has_value(), name);
  }
  BOOST_TEST(!fs::exists(tmp / "escape.fold"));
  BOOST_TEST((!fs::exists(tmp / "cache") || FilesIn(tmp / "cache") == 0u));
}

BOOST_AUTO_TEST_CASE(a_copy_of_the_wrong_length_is_removed) {
  testing::TempDir tmp;
  const SnapshotCache cache(tmp / "cache");
  const std::string bytes = Bytes('c');
  const std::string sum = Store(cache, bytes);
  BOOST_TEST(!cache.Open(sum, bytes.size() + 1).has_value());
  BOOST_TEST(!cache.Open(sum, bytes.size()).has_value());  // Gone.
  BOOST_TEST(FilesIn(tmp / "cache") == 0u);
}

BOOST_AUTO_TEST_CASE(the_newest_copies_are_kept) {
  testing::TempDir tmp;
  const SnapshotCache cache(tmp / "cache");
  std::vector<std::string> sums;
  for (int i = 0; i < kSnapshotCacheFilesKept + 2; ++i) {
    sums.push_back(Store(cache, "snapshot " + std::to_string(i)));
    // Write times a file system can tell apart.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_TEST(FilesIn(tmp / "cache") == static_cast<size_t>(kSnapshotCacheFilesKept));
  BOOST_TEST(!cache.Open(sums[0], 10).has_value());
  BOOST_TEST(!cache.Open(sums[1], 10).has_value());
  const std::string newest = "snapshot " + std::to_string(kSnapshotCacheFilesKept + 1);
  BOOST_TEST(cache.Open(sums.back(), newest.size()).has_value());
}

BOOST_AUTO_TEST_CASE(a_disabled_cache_holds_and_stores_nothing) {
  const SnapshotCache cache("");
  const std::string sum = ChecksumOf("x");
  SnapshotCache::Writer writer = cache.Create(sum);
  writer.Append("x");
  BOOST_TEST(!writer.Commit());
  BOOST_TEST(!cache.Open(sum, 1).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
