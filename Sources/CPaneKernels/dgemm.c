// Double-precision GEMM for the integer entropy path (see pane_kernels.h):
// integer-valued operands whose sums stay below 2^53 are added exactly, so the
// AVX2 path and the scalar path agree bit for bit.
#include "pane_kernels.h"

#include <stddef.h>
#include <immintrin.h>

void pane_dgemm_reference(int m, int n, int k,
                          const double *a, int lda,
                          const double *b, int ldb,
                          double *c, int ldc) {
    for (int i = 0; i < m; i++) {
        double *ci = c + (size_t)i * ldc;
        for (int p = 0; p < k; p++) {
            const double av = a[(size_t)i * lda + p];
            if (av == 0) continue;
            const double *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++) ci[j] += av * bp[j];
        }
    }
}

// 6 rows × 8 columns per micro-tile (12 accumulators), over a packed copy of B's 8-column
// panel so the k loop reads B sequentially (B's rows are a whole feature plane apart).
// Leftover rows take a 1-row AVX2 loop over the same panel; leftover columns the reference.
__attribute__((target("avx2,fma")))
static void dgemm_avx2_panel(int m, int n, int k,
                             const double *a, int lda,
                             const double *b, int ldb,
                             double *c, int ldc, double *panel) {
    const int n8 = n & ~7;
    const int m6 = m - m % 6;
    for (int j = 0; j < n8; j += 8) {
        for (int p = 0; p < k; p++) {
            const double *row = b + (size_t)p * ldb + j;
            _mm256_storeu_pd(panel + 8 * p, _mm256_loadu_pd(row));
            _mm256_storeu_pd(panel + 8 * p + 4, _mm256_loadu_pd(row + 4));
        }
        for (int i = 0; i < m6; i += 6) {
            const double *a0 = a + (size_t)i * lda;
            const double *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;
            double *c0 = c + (size_t)i * ldc + j;
            double *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc, *c4 = c3 + ldc, *c5 = c4 + ldc;
            __m256d r00 = _mm256_loadu_pd(c0), r01 = _mm256_loadu_pd(c0 + 4);
            __m256d r10 = _mm256_loadu_pd(c1), r11 = _mm256_loadu_pd(c1 + 4);
            __m256d r20 = _mm256_loadu_pd(c2), r21 = _mm256_loadu_pd(c2 + 4);
            __m256d r30 = _mm256_loadu_pd(c3), r31 = _mm256_loadu_pd(c3 + 4);
            __m256d r40 = _mm256_loadu_pd(c4), r41 = _mm256_loadu_pd(c4 + 4);
            __m256d r50 = _mm256_loadu_pd(c5), r51 = _mm256_loadu_pd(c5 + 4);
            const double *bp = panel;
            for (int p = 0; p < k; p++, bp += 8) {
                const __m256d b0 = _mm256_loadu_pd(bp), b1 = _mm256_loadu_pd(bp + 4);
                __m256d av = _mm256_broadcast_sd(a0 + p);
                r00 = _mm256_fmadd_pd(av, b0, r00); r01 = _mm256_fmadd_pd(av, b1, r01);
                av = _mm256_broadcast_sd(a1 + p);
                r10 = _mm256_fmadd_pd(av, b0, r10); r11 = _mm256_fmadd_pd(av, b1, r11);
                av = _mm256_broadcast_sd(a2 + p);
                r20 = _mm256_fmadd_pd(av, b0, r20); r21 = _mm256_fmadd_pd(av, b1, r21);
                av = _mm256_broadcast_sd(a3 + p);
                r30 = _mm256_fmadd_pd(av, b0, r30); r31 = _mm256_fmadd_pd(av, b1, r31);
                av = _mm256_broadcast_sd(a4 + p);
                r40 = _mm256_fmadd_pd(av, b0, r40); r41 = _mm256_fmadd_pd(av, b1, r41);
                av = _mm256_broadcast_sd(a5 + p);
                r50 = _mm256_fmadd_pd(av, b0, r50); r51 = _mm256_fmadd_pd(av, b1, r51);
            }
            _mm256_storeu_pd(c0, r00); _mm256_storeu_pd(c0 + 4, r01);
            _mm256_storeu_pd(c1, r10); _mm256_storeu_pd(c1 + 4, r11);
            _mm256_storeu_pd(c2, r20); _mm256_storeu_pd(c2 + 4, r21);
            _mm256_storeu_pd(c3, r30); _mm256_storeu_pd(c3 + 4, r31);
            _mm256_storeu_pd(c4, r40); _mm256_storeu_pd(c4 + 4, r41);
            _mm256_storeu_pd(c5, r50); _mm256_storeu_pd(c5 + 4, r51);
        }
        for (int i = m6; i < m; i++) {
            const double *ai = a + (size_t)i * lda;
            double *ci = c + (size_t)i * ldc + j;
            __m256d r0 = _mm256_loadu_pd(ci), r1 = _mm256_loadu_pd(ci + 4);
            const double *bp = panel;
            for (int p = 0; p < k; p++, bp += 8) {
                const __m256d av = _mm256_broadcast_sd(ai + p);
                r0 = _mm256_fmadd_pd(av, _mm256_loadu_pd(bp), r0);
                r1 = _mm256_fmadd_pd(av, _mm256_loadu_pd(bp + 4), r1);
            }
            _mm256_storeu_pd(ci, r0); _mm256_storeu_pd(ci + 4, r1);
        }
    }
    if (n8 < n) pane_dgemm_reference(m, n - n8, k, a, lda, b + n8, ldb, c + n8, ldc);
}

// Blocks of K keep the packed panel (KCD rows of 64 bytes, 16 KB) in L1 while every row
// block of A reuses it. Sums stay exact whatever the blocking (see the header).
enum { KCD = 256 };

__attribute__((target("avx2,fma")))
static void dgemm_avx2(int m, int n, int k,
                       const double *a, int lda,
                       const double *b, int ldb,
                       double *c, int ldc) {
    double panel[KCD * 8];
    for (int p0 = 0; p0 < k; p0 += KCD) {
        const int kc = k - p0 < KCD ? k - p0 : KCD;
        dgemm_avx2_panel(m, n, kc, a + p0, lda, b + (size_t)p0 * ldb, ldb, c, ldc, panel);
    }
}

void pane_dgemm(int m, int n, int k,
                const double *a, int lda,
                const double *b, int ldb,
                double *c, int ldc) {
    if (m <= 0 || n <= 0 || k <= 0) return;
    if (pane_cpu_selected() >= PANE_CPU_AVX2) dgemm_avx2(m, n, k, a, lda, b, ldb, c, ldc);
    else pane_dgemm_reference(m, n, k, a, lda, b, ldb, c, ldc);
}
