#ifndef PANE_KERNELS_H
#define PANE_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set paths of the dispatched kernels.
typedef enum {
    PANE_CPU_SCALAR = 0,
    PANE_CPU_AVX2 = 1,
} pane_cpu_path;

/// The best path this CPU supports, lowered by the environment variable
/// PANE_CPU=scalar|avx2 when set. Chosen once, on first use.
pane_cpu_path pane_cpu_selected(void);

/// Forces a path (tests); a path the CPU lacks falls back to scalar. Returns the path in effect.
pane_cpu_path pane_cpu_force(pane_cpu_path path);

/// C[m×n] += A[m×k] · B[k×n], all row-major with leading dimensions lda, ldb, ldc.
/// REQUIRES: buffers do not alias; m, n, k ≥ 0. Does not allocate; single-threaded.
void pane_sgemm(int m, int n, int k,
                const float *a, int lda,
                const float *b, int ldb,
                float *c, int ldc);

/// The scalar reference of pane_sgemm (the test oracle for every fast path).
void pane_sgemm_reference(int m, int n, int k,
                          const float *a, int lda,
                          const float *b, int ldb,
                          float *c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
