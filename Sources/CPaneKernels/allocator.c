// The C allocator's policy for large tensors (see pane_keep_freed_blocks in the header).
#include "pane_kernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

// Address space the main heap reserves up front for tensors, marked for transparent huge pages.
// A decode of a 768×512 image touches about 100 MB of heap; larger images grow the heap beyond
// this with ordinary pages.
enum { RESERVE_BLOCKS = 6, RESERVE_BLOCK = 16 << 20 };

void pane_keep_freed_blocks(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    // Grow the heap by blocks below the mmap threshold (glibc takes them from brk, touching only
    // each block's header), ask for huge pages on that range, and free the blocks: they stay in
    // the heap (under the trim threshold) and later tensors reuse the range, so their first
    // touches fault 2 MB pages in instead of 4 KB ones (what GLIBC_TUNABLES=glibc.malloc.hugetlb=1
    // does, which a program cannot set for itself). Where the kernel has THP off, madvise fails
    // and nothing else changes.
    uint8_t *start = sbrk(0);
    void *blocks[RESERVE_BLOCKS];
    for (int i = 0; i < RESERVE_BLOCKS; i++) {
        blocks[i] = malloc(RESERVE_BLOCK);
        if (blocks[i]) *(volatile uint8_t *)blocks[i] = 0;   // a use: the pair is not optimised away
    }
    uint8_t *end = sbrk(0);
    const uintptr_t huge = 2 << 20;
    const uintptr_t from = ((uintptr_t)start + huge - 1) & ~(huge - 1), to = (uintptr_t)end & ~(huge - 1);
    if (start != (void *)-1 && end != (void *)-1 && to > from) madvise((void *)from, to - from, MADV_HUGEPAGE);
    for (int i = 0; i < RESERVE_BLOCKS; i++) free(blocks[i]);
#endif
}
