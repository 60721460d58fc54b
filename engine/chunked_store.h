// ChunkedStore<T>: an append-only sequence in chunks of huge pages that never move.
//
// For the fold's largest tables (bets, PoolSnapshot points): an element's address stays valid for
// the store's life, growth copies nothing and never holds two copies (a std::vector doubling 500 MB
// holds 1.5 GB at its peak), and every byte is used but the last chunk's tail. Elements are
// trivially destructible (chunks are freed without running destructors).
//
//   ChunkedStore<Point> points;
//   const size_t i = points.push_back(p);
//   points[i].x = 1;
#ifndef LEDGER_ENGINE_CHUNKED_STORE_H_
#define LEDGER_ENGINE_CHUNKED_STORE_H_

#include <cstddef>
#include <new>
#include <type_traits>
#include <vector>

#include "engine/huge_page_allocator.h"

namespace ledger {

template <typename T>
class ChunkedStore {
  static_assert(std::is_trivially_destructible_v<T>, "chunks are freed without destructors");

 public:
  ChunkedStore() = default;
  ChunkedStore(const ChunkedStore&) = delete;
  ChunkedStore& operator=(const ChunkedStore&) = delete;
  ChunkedStore(ChunkedStore&& other) noexcept
      : chunks_(std::move(other.chunks_)), size_(other.size_) {
    other.chunks_.clear();
    other.size_ = 0;
  }
  ChunkedStore& operator=(ChunkedStore&& other) noexcept {
    if (this != &other) {
      Free();
      chunks_ = std::move(other.chunks_);
      size_ = other.size_;
      other.chunks_.clear();
      other.size_ = 0;
    }
    return *this;
  }
  ~ChunkedStore() { Free(); }

  // Appends `value`; returns its index.
  size_t push_back(const T& value) {
    if (size_ == chunks_.size() * kPerChunk) {
      chunks_.push_back(static_cast<T*>(AllocateHugePages(kChunkBytes)));
    }
    new (&(*this)[size_]) T(value);
    return size_++;
  }
  // Removes the last element. REQUIRES: !empty().
  void pop_back() { --size_; }

  T& operator[](size_t i) { return chunks_[i / kPerChunk][i % kPerChunk]; }
  const T& operator[](size_t i) const { return chunks_[i / kPerChunk][i % kPerChunk]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  // Two huge pages a chunk: small enough that a small fold wastes little, large enough that a 10M-
  // event fold needs a few hundred.
  static constexpr size_t kChunkBytes = 2 * kHugePageBytes;
  static constexpr size_t kPerChunk = kChunkBytes / sizeof(T);

  void Free() {
    for (T* chunk : chunks_) FreeHugePages(chunk, kChunkBytes);
    chunks_.clear();
    size_ = 0;
  }

  std::vector<T*> chunks_;
  size_t size_ = 0;
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_CHUNKED_STORE_H_
