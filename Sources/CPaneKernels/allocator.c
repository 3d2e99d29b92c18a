// The C allocator's policy for large tensors (see pane_keep_freed_blocks in the header).
#include "pane_kernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void pane_keep_freed_blocks(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}
