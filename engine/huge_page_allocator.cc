#include "engine/huge_page_allocator.h"

#include <cstdint>

namespace ledger {
namespace {

size_t RoundUp(size_t bytes) {
  return (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

}  // namespace

void* AllocateHugePages(size_t bytes) {
  // Map one extra huge page so that an aligned start can be cut out of it, then give back the ends.
  const size_t size = RoundUp(bytes);
  const size_t mapped = size + kHugePageBytes;
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + mapped;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  void* p = reinterpret_cast<void*>(aligned);
  // Advice only: without THP the memory still works, with small pages. Then populate it in one call
  // (Linux 5.14+; ignored before): the pages are faulted in now, in bulk, rather than one fault at
  // a time inside the fold's loop.
  madvise(p, size, MADV_HUGEPAGE);
  madvise(p, size, MADV_POPULATE_WRITE);
  return p;
}

void FreeHugePages(void* p, size_t bytes) { munmap(p, RoundUp(bytes)); }

}  // namespace ledger
