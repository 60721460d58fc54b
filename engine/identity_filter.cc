#include "engine/identity_filter.h"

#include <algorithm>
#include <bit>

namespace ledger {

uint64_t IdentityFilter::BlocksFor(uint64_t capacity) {
  return std::bit_ceil((capacity * kIdentityFilterBitsPerKey + 511) / 512);
}

IdentityFilter::Layer IdentityFilter::MakeLayer(uint64_t capacity) {
  Layer layer;
  layer.capacity = capacity;
  layer.blocks = BlocksFor(capacity);
  layer.words.assign(layer.blocks * kBlockWords, 0);
  return layer;
}

// Sets (when `set`, in `*words`) or tests the key's probes in its block of `layer`.
bool IdentityFilter::Test(const Layer& layer, Key key, bool set, std::vector<uint64_t>* words) {
  const uint64_t block = (key.lo & (layer.blocks - 1)) * kBlockWords;
  const uint64_t step = (key.lo >> 32) | 1;
  bool all = true;
  for (int i = 0; i < kIdentityFilterProbes; ++i) {
    const uint64_t bit = (key.hi + static_cast<uint64_t>(i) * step) & 511;
    const uint64_t word = block + bit / 64;
    const uint64_t mask = uint64_t{1} << (bit % 64);
    if (set) {
      (*words)[word] |= mask;
    } else if ((layer.words[word] & mask) == 0) {
      all = false;
      break;
    }
  }
  return all;
}

void IdentityFilter::Insert(Key key) {
  if (layers_.empty() || layers_.back().count >= layers_.back().capacity) {
    layers_.push_back(MakeLayer(layers_.empty() ? keys_first_ : 2 * layers_.back().capacity));
  }
  Layer& layer = layers_.back();
  Test(layer, key, /*set=*/true, &layer.words);
  ++layer.count;
}

bool IdentityFilter::MayContain(Key key) const {
  for (const Layer& layer : layers_) {
    if (Test(layer, key, /*set=*/false, nullptr)) return true;
  }
  return false;
}

uint64_t IdentityFilter::size() const {
  uint64_t n = 0;
  for (const Layer& layer : layers_) n += layer.count;
  return n;
}

size_t IdentityFilter::memory_bytes() const {
  size_t n = 0;
  for (const Layer& layer : layers_) n += layer.words.size() * sizeof(uint64_t);
  return n;
}

void IdentityFilter::Save(ByteWriter& out) const {
  out.U32(static_cast<uint32_t>(layers_.size()));
  for (const Layer& layer : layers_) {
    out.U64(layer.capacity);
    out.U64(layer.count);
    out.U64(layer.blocks);
    out.Reserve(out.bytes().size() + layer.words.size() * sizeof(uint64_t));
    for (uint64_t w : layer.words) out.U64(w);
  }
}

bool IdentityFilter::Load(ByteReader& in) {
  const uint32_t count = in.U32();
  if (!in.ok() || count > kIdentityFilterLayersMax) return false;
  std::vector<Layer> layers;
  for (uint32_t i = 0; i < count; ++i) {
    Layer layer;
    layer.capacity = in.U64();
    layer.count = in.U64();
    layer.blocks = in.U64();
    const uint64_t capacity = i == 0 ? layer.capacity : 2 * layers.back().capacity;
    if (!in.ok() || layer.capacity != capacity || capacity < 1 ||
        (i == 0 && capacity > kIdentityFilterKeysFirstMax) || layer.blocks != BlocksFor(capacity) ||
        layer.count > layer.capacity) {
      return false;
    }
    // Grown as the words arrive, so that a malformed size costs no more memory than the input.
    const uint64_t words = layer.blocks * kBlockWords;
    layer.words.reserve(std::min<uint64_t>(words, uint64_t{1} << 20));
    for (uint64_t w = 0; w < words; ++w) {
      layer.words.push_back(in.U64());
      if (!in.ok()) return false;
    }
    layers.push_back(std::move(layer));
  }
  if (!in.ok()) return false;
  if (!layers.empty()) keys_first_ = layers.front().capacity;
  layers_ = std::move(layers);
  return true;
}

}  // namespace ledger
