// IdentityFilter: which idempotency identities the log may hold, in ~2 bytes an identity.
//
// The appender no longer keeps every identity of the log in memory (40 bytes each, 400 MB at 10M
// events, and all of it to be folded at every start). It keeps this filter instead: a Bloom filter
// that answers "certainly new" for nearly every new event, so that only the few identities it
// cannot rule out (re-sent events, and about one new event in a thousand) are looked up in the
// log's UNIQUE index, once per batch (Sequencer::Unresolved, LogStore::FindIdentities).
//
// Blocked (each key's probes fall in one 64-byte block: one cache miss a lookup) and scalable: when
// the newest layer holds its capacity, a layer twice as large is added, so it never needs the keys
// again to grow. No false negatives, ever; a false positive costs one index lookup.
//
// Not thread-safe.
#ifndef LEDGER_ENGINE_IDENTITY_FILTER_H_
#define LEDGER_ENGINE_IDENTITY_FILTER_H_

#include <cstdint>
#include <vector>

#include "engine/byte_codec.h"

namespace ledger {

// Identities the first layer holds; each later layer holds twice the one before.
inline constexpr uint64_t kIdentityFilterKeysFirst = uint64_t{1} << 20;
// Bits a key: with 8 probes in 512-bit blocks, about 1 false positive in 500 lookups.
inline constexpr uint64_t kIdentityFilterBitsPerKey = 16;
inline constexpr int kIdentityFilterProbes = 8;
// A snapshot naming more layers than this, or a first layer larger, is malformed (2^32 << 24 keys
// is far past any log, and keeps every size computed from them inside 64 bits).
inline constexpr uint32_t kIdentityFilterLayersMax = 24;
inline constexpr uint64_t kIdentityFilterKeysFirstMax = uint64_t{1} << 32;

class IdentityFilter {
 public:
  // `keys_first`: the first layer's capacity (tests make it tiny, to see many false positives).
  explicit IdentityFilter(uint64_t keys_first = kIdentityFilterKeysFirst)
      : keys_first_(keys_first < 1 ? 1 : keys_first) {}

  // A 128-bit digest of the identity key (uniform: any of its bits may be used as a hash).
  struct Key {
    uint64_t hi = 0;
    uint64_t lo = 0;
  };

  void Insert(Key key);
  // False only when `key` was never inserted.
  bool MayContain(Key key) const;
  // Keys inserted.
  uint64_t size() const;
  size_t memory_bytes() const;

  void Save(ByteWriter& out) const;
  // Replaces this filter with the one `in` holds; false (the filter unchanged) when malformed.
  bool Load(ByteReader& in);

 private:
  static constexpr uint64_t kBlockWords = 8;  // 512 bits.
  struct Layer {
    uint64_t capacity = 0;
    uint64_t count = 0;
    uint64_t blocks = 0;  // A power of two.
    std::vector<uint64_t> words;
  };
  static uint64_t BlocksFor(uint64_t capacity);
  static Layer MakeLayer(uint64_t capacity);
  static bool Test(const Layer& layer, Key key, bool set, std::vector<uint64_t>* words);

  uint64_t keys_first_;
  std::vector<Layer> layers_;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_IDENTITY_FILTER_H_
