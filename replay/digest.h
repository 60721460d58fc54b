// Digests: a log position and its hash, taken by `ledger digest` and kept outside the database, so
// that `ledger verify --digest` can later prove the log up to it was neither rewritten nor cut.
//
// A digest may be signed (`digest --sign KEY`, Ed25519, engine/signing.h): the signature covers
// the canonical text below, so an edited position, hash or time, or a digest made without the key,
// is refused by `verify --digest FILE --pubkey PUB` before the log is read.
//
//   {"seq":42,"hash":"<64 hex>","recordedAt":"2026-12-03T07:00:00.123456Z",
//    "takenAt":"2026-12-03T07:05:00Z","keyId":"<16 hex>","signature":"<128 hex>"}
//
// The canonical text (DigestSigningText), one field a line, each line ending in "\n":
//
//   ledger-digest-v1
//   seq 42
//   hash <64 hex>
//   recordedAt 2026-12-03T07:00:00.123456Z      ("-" for an empty log)
//   takenAt 2026-12-03T07:05:00Z
//   keyId <16 hex>
//
// Times are RFC 3339 UTC as FormatRfc3339 writes them (engine/time_format.h).
// docs/auditors-guide.md shows how to check a signature with OpenSSL alone.
#ifndef LEDGER_REPLAY_DIGEST_H_
#define LEDGER_REPLAY_DIGEST_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/event.h"
#include "engine/pg/database.h"

namespace ledger {

// The first line of the canonical text: a new form gets a new tag, never a changed meaning.
inline constexpr std::string_view kDigestSigningTag = "ledger-digest-v1";
// A digest file is one line of about 350 bytes.
inline constexpr size_t kDigestFileBytesMax = 64 * 1024;

struct LogDigest {
  int64_t seq = 0;
  Sha256 hash{};
  // The recordedAt of the row at `seq` (nullopt for an empty log, and in digests taken before
  // digests carried it).
  std::optional<TimeMicros> recorded_at;
  std::optional<TimeMicros> taken_at;  // When the digest was taken (nullopt in old digests).
  // Signed digests only (both empty otherwise): the signer's key id and the 64-byte signature.
  std::string key_id;
  std::string signature;

  bool is_signed() const { return !signature.empty(); }
};

// The log head as a digest taken at `now`: its position, hash and recordedAt (unsigned).
absl::StatusOr<LogDigest> TakeDigest(pg::Database* store, TimeMicros now);

// The bytes a signature covers. REQUIRES: taken_at is set.
std::string DigestSigningText(const LogDigest& digest);

// Signs `digest` (sets key_id and signature). REQUIRES: taken_at is set.
absl::Status SignDigest(std::string_view private_pem, LogDigest* digest);

// OK when `digest` is signed by the private half of `public_pem`. kFailedPrecondition when it is
// not signed at all; kDataLoss when another key signed it or the signature does not match (the
// file was edited or forged); kInvalidArgument when `public_pem` is not an Ed25519 public key.
absl::Status CheckDigestSignature(std::string_view public_pem, const LogDigest& digest);

// What `ledger digest` prints (one line of JSON), and back. ParseDigest also reads the older
// {"seq": N, "hash": "..."}; a field of the wrong type, a signature without a key id (or the other
// way round) or one that is not 128 hex digits is kInvalidArgument.
std::string FormatDigest(const LogDigest& digest);
absl::StatusOr<LogDigest> ParseDigest(const std::string& json);

}  // namespace ledger

#endif  // LEDGER_REPLAY_DIGEST_H_
