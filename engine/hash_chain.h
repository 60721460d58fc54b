// The log's SHA-256 hash chain and the canonical encoding it is computed over.
//
//   hash(n) = SHA-256(hash(n-1) || CanonicalEncoding(row n)),  hash(0) = 32 zero bytes.
//
// The canonical encoding is a version tag followed by every stored column of the row except the two hash
// columns, in a fixed order, each as a one-byte presence tag and, when present, an 8-byte big-endian
// length and the value's bytes (integers and times as decimal text, enums by name). The format is
// specified in docs/event-format.md; changing it changes every hash, so it is versioned by
// kCanonicalVersion. Pure functions; thread-safe.
#ifndef LEDGER_ENGINE_HASH_CHAIN_H_
#define LEDGER_ENGINE_HASH_CHAIN_H_

#include <optional>
#include <string>
#include <string_view>

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

// SHA-256 of the identity payload (StripDerived(event)): equal for an event and its re-sent duplicate.
Sha256 PayloadFingerprint(const Event& event);

Sha256 Sha256Of(std::string_view bytes);
std::string ToHex(const Sha256& hash);
std::optional<Sha256> FromHex(std::string_view hex);

}  // namespace ledger

#endif  // LEDGER_ENGINE_HASH_CHAIN_H_
