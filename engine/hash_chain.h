// The log's SHA-256 hash chain and the canonical encoding it is computed over.
//
//   hash(n) = SHA-256(hash(n-1) || CanonicalEncoding(row n)),  hash(0) = 32 zero bytes.
//
// The canonical encoding is a version tag followed by every stored column of the row except the two
// hash columns, in a fixed order, each as a one-byte presence tag and, when present, an 8-byte
// big-endian length and the value's bytes (integers and times as decimal text, enums by name). The
// format is specified in docs/event-format.md; changing it changes every hash, so it is versioned
// by kCanonicalVersion. Pure functions; thread-safe.
#ifndef LEDGER_ENGINE_HASH_CHAIN_H_
#define LEDGER_ENGINE_HASH_CHAIN_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/event.h"

namespace ledger {

inline constexpr std::string_view kCanonicalVersion = "degenhouse-ledger/v1";

// The hash that the first row chains from.
inline constexpr Sha256 kGenesisHash{};

// Appends the canonical encoding of the event's fields (no seq, ids or hashes) to `out`. With
// `identity_payload`, encodes StripDerived(event) instead (without copying it).
void AppendCanonicalEvent(const Event& event, std::string* out, bool identity_payload = false);

// The canonical encoding of a whole row, without its prev_hash and hash.
std::string CanonicalEncoding(const LoggedEvent& row);

// SHA-256(prev || CanonicalEncoding(row)).
Sha256 ChainHash(const Sha256& prev, const LoggedEvent& row);

// One finding about the chain (or, in verify, a rule).
struct ChainBreak {
  int64_t seq = 0;   // Position of the row where it shows (a gap: its first missing position).
  std::string kind;  // ALTERED_ROW, BROKEN_LINK, MISSING_POSITION, UNEXPECTED_POSITION, RULE_BROKEN
  std::string detail;
};

// What is wrong with `row` as the successor of the row at (`prev_seq`, `prev_hash`): the one link
// check that the sequencer (on replay), verify and the log's writer (before COPY) all use.
struct LinkFaults {
  bool missing_positions = false;    // row.seq > prev_seq + 1: the positions between are absent.
  bool unexpected_position = false;  // row.seq <= prev_seq: repeated or out of order.
  bool broken_link = false;          // row.prev_hash is not the previous row's hash.
  bool altered_row = false;          // The row's content does not hash to its stored hash.
  Sha256 computed{};                 // ChainHash(row.prev_hash, row).

  bool ok() const {
    return !missing_positions && !unexpected_position && !broken_link && !altered_row;
  }
  // Each fault as a finding: MISSING_POSITION (at the first missing position),
  // UNEXPECTED_POSITION, BROKEN_LINK, ALTERED_ROW (at the row), in that order; empty when ok().
  std::vector<ChainBreak> Describe(int64_t prev_seq, const Sha256& prev_hash,
                                   const LoggedEvent& row) const;
};
LinkFaults CheckLink(int64_t prev_seq, const Sha256& prev_hash, const LoggedEvent& row);

// SHA-256 of the identity payload (StripDerived(event)): equal for an event and its re-sent
// duplicate.
Sha256 PayloadFingerprint(const Event& event);

Sha256 Sha256Of(std::string_view bytes);

// SHA-256 of bytes that arrive in pieces (a fold snapshot read part by part).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  // The digest of everything given; the stream is spent.
  Sha256 Finish();

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header.
};
std::string ToHex(const Sha256& hash);
std::optional<Sha256> FromHex(std::string_view hex);
// Lowercase hex of any bytes, and back (nullopt for an odd length or a digit that is not lowercase
// hex).
std::string BytesToHex(std::string_view bytes);
std::optional<std::string> HexToBytes(std::string_view hex);

}  // namespace ledger

#endif  // LEDGER_ENGINE_HASH_CHAIN_H_
