// HugePageAllocator: an allocator for the fold's large tables (the bet map, the uniqueness set, the
// snapshot points) that backs blocks of 2 MiB and more with transparent huge pages.
//
// Why: a fold of the whole log touches hundreds of MB of fresh memory. With 4 KiB pages that is one
// page fault per 4 KiB (a sixth of a 1M-event fold's time went to the kernel's fault path here);
// with 2 MiB pages it is 512 times fewer. Debian's kernels leave THP at "madvise", so the memory
// has to ask (MADV_HUGEPAGE), which malloc does not do by default. Small blocks go to the ordinary
// allocator.
//
// Stateless; thread-safe like operator new.
#ifndef LEDGER_ENGINE_HUGE_PAGE_ALLOCATOR_H_
#define LEDGER_ENGINE_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>

namespace ledger {

// The x86-64 huge page; blocks below it gain nothing from THP.
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Allocates `bytes` (>= kHugePageBytes), rounded up to whole huge pages, aligned to a huge page and
// advised to use them. Throws std::bad_alloc when the kernel refuses.
void* AllocateHugePages(size_t bytes);
void FreeHugePages(void* p, size_t bytes);

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly.

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return std::allocator<T>().allocate(n);
    return static_cast<T*>(AllocateHugePages(bytes));
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return std::allocator<T>().deallocate(p, n);
    FreeHugePages(p, bytes);
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_HUGE_PAGE_ALLOCATOR_H_
