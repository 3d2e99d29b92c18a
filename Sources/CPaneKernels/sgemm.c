// Single-precision GEMM with runtime CPU dispatch (STYLE.md rule 6).
// The AVX2+FMA path is compiled for that target per function, never for the
// whole binary, so the same executable runs on CPUs without AVX2.
#include "pane_kernels.h"

#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

void pane_sgemm_reference(int m, int n, int k,
                          const float *a, int lda,
                          const float *b, int ldb,
                          float *c, int ldc) {
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int p = 0; p < k; p++) {
            const float av = a[(size_t)i * lda + p];
            const float *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++) ci[j] += av * bp[j];
        }
    }
}

// Columns left over after the vector strips: the same FMA chain in k order as a vector lane, so an
// element of C has the same bits whichever strip its column falls in (the column ranges given to
// threads, hence the strips, depend on the thread count).
__attribute__((target("avx2,fma")))
static void sgemm_fma_columns(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                              float *c, int ldc) {
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++) {
            float acc = ci[j];
            for (int p = 0; p < k; p++) acc = __builtin_fmaf(a[(size_t)i * lda + p], b[(size_t)p * ldb + j], acc);
            ci[j] = acc;
        }
    }
}

// 6 rows × 16 columns per micro-tile: 12 accumulators, 2 loads of B and 6 broadcasts of A per
// step of k, over `panel`, a packed copy of B's 16-column strip (rows of B are a feature plane
// apart; packed, the k loop reads them sequentially). Leftover rows take 4-row and 1-row loops over the
// same panel (4 at once when there are 4); leftover columns sgemm_fma_columns.
__attribute__((target("avx2,fma")))
static void sgemm_avx2_panel(int m, int n, int k,
                       const float *a, int lda,
                       const float *b, int ldb,
                       float *c, int ldc, float *panel) {
    const int n16 = n & ~15;
    const int m6 = m - m % 6;
    for (int j = 0; j < n16; j += 16) {
        for (int p = 0; p < k; p++) {
            const float *row = b + (size_t)p * ldb + j;
            _mm256_storeu_ps(panel + 16 * p, _mm256_loadu_ps(row));
            _mm256_storeu_ps(panel + 16 * p + 8, _mm256_loadu_ps(row + 8));
        }
        for (int i = 0; i < m6; i += 6) {
            const float *a0 = a + (size_t)i * lda;
            const float *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;
            float *c0 = c + (size_t)i * ldc + j;
            float *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc, *c4 = c3 + ldc, *c5 = c4 + ldc;
            __m256 r00 = _mm256_loadu_ps(c0), r01 = _mm256_loadu_ps(c0 + 8);
            __m256 r10 = _mm256_loadu_ps(c1), r11 = _mm256_loadu_ps(c1 + 8);
            __m256 r20 = _mm256_loadu_ps(c2), r21 = _mm256_loadu_ps(c2 + 8);
            __m256 r30 = _mm256_loadu_ps(c3), r31 = _mm256_loadu_ps(c3 + 8);
            __m256 r40 = _mm256_loadu_ps(c4), r41 = _mm256_loadu_ps(c4 + 8);
            __m256 r50 = _mm256_loadu_ps(c5), r51 = _mm256_loadu_ps(c5 + 8);
            const float *bp = panel;
            for (int p = 0; p < k; p++, bp += 16) {
                const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
                __m256 av = _mm256_broadcast_ss(a0 + p);
                r00 = _mm256_fmadd_ps(av, b0, r00); r01 = _mm256_fmadd_ps(av, b1, r01);
                av = _mm256_broadcast_ss(a1 + p);
                r10 = _mm256_fmadd_ps(av, b0, r10); r11 = _mm256_fmadd_ps(av, b1, r11);
                av = _mm256_broadcast_ss(a2 + p);
                r20 = _mm256_fmadd_ps(av, b0, r20); r21 = _mm256_fmadd_ps(av, b1, r21);
                av = _mm256_broadcast_ss(a3 + p);
                r30 = _mm256_fmadd_ps(av, b0, r30); r31 = _mm256_fmadd_ps(av, b1, r31);
                av = _mm256_broadcast_ss(a4 + p);
                r40 = _mm256_fmadd_ps(av, b0, r40); r41 = _mm256_fmadd_ps(av, b1, r41);
                av = _mm256_broadcast_ss(a5 + p);
                r50 = _mm256_fmadd_ps(av, b0, r50); r51 = _mm256_fmadd_ps(av, b1, r51);
            }
            _mm256_storeu_ps(c0, r00); _mm256_storeu_ps(c0 + 8, r01);
            _mm256_storeu_ps(c1, r10); _mm256_storeu_ps(c1 + 8, r11);
            _mm256_storeu_ps(c2, r20); _mm256_storeu_ps(c2 + 8, r21);
            _mm256_storeu_ps(c3, r30); _mm256_storeu_ps(c3 + 8, r31);
            _mm256_storeu_ps(c4, r40); _mm256_storeu_ps(c4 + 8, r41);
            _mm256_storeu_ps(c5, r50); _mm256_storeu_ps(c5 + 8, r51);
        }
        int i = m6;
        if (m - i >= 4) {
            const float *a0 = a + (size_t)i * lda;
            const float *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            float *c0 = c + (size_t)i * ldc + j;
            float *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
            __m256 r00 = _mm256_loadu_ps(c0), r01 = _mm256_loadu_ps(c0 + 8);
            __m256 r10 = _mm256_loadu_ps(c1), r11 = _mm256_loadu_ps(c1 + 8);
            __m256 r20 = _mm256_loadu_ps(c2), r21 = _mm256_loadu_ps(c2 + 8);
            __m256 r30 = _mm256_loadu_ps(c3), r31 = _mm256_loadu_ps(c3 + 8);
            const float *bp = panel;
            for (int p = 0; p < k; p++, bp += 16) {
                const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
                __m256 av = _mm256_broadcast_ss(a0 + p);
                r00 = _mm256_fmadd_ps(av, b0, r00); r01 = _mm256_fmadd_ps(av, b1, r01);
                av = _mm256_broadcast_ss(a1 + p);
                r10 = _mm256_fmadd_ps(av, b0, r10); r11 = _mm256_fmadd_ps(av, b1, r11);
                av = _mm256_broadcast_ss(a2 + p);
                r20 = _mm256_fmadd_ps(av, b0, r20); r21 = _mm256_fmadd_ps(av, b1, r21);
                av = _mm256_broadcast_ss(a3 + p);
                r30 = _mm256_fmadd_ps(av, b0, r30); r31 = _mm256_fmadd_ps(av, b1, r31);
            }
            _mm256_storeu_ps(c0, r00); _mm256_storeu_ps(c0 + 8, r01);
            _mm256_storeu_ps(c1, r10); _mm256_storeu_ps(c1 + 8, r11);
            _mm256_storeu_ps(c2, r20); _mm256_storeu_ps(c2 + 8, r21);
            _mm256_storeu_ps(c3, r30); _mm256_storeu_ps(c3 + 8, r31);
            i += 4;
        }
        for (; i < m; i++) {
            const float *ai = a + (size_t)i * lda;
            float *ci = c + (size_t)i * ldc + j;
            __m256 r0 = _mm256_loadu_ps(ci), r1 = _mm256_loadu_ps(ci + 8);
            const float *bp = panel;
            for (int p = 0; p < k; p++, bp += 16) {
                const __m256 av = _mm256_broadcast_ss(ai + p);
                r0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp), r0);
                r1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 8), r1);
            }
            _mm256_storeu_ps(ci, r0); _mm256_storeu_ps(ci + 8, r1);
        }
    }
    if (n16 < n) sgemm_fma_columns(m, n - n16, k, a, lda, b + n16, ldb, c + n16, ldc);
}

// Blocks of K keep the packed 16-column strip of B (KC rows of 64 bytes, 16 KB) in L1
// while every row block of A reuses it.
enum { KC = 256 };

__attribute__((target("avx2,fma")))
static void sgemm_avx2(int m, int n, int k,
                       const float *a, int lda,
                       const float *b, int ldb,
                       float *c, int ldc) {
    float panel[KC * 16];
    for (int p0 = 0; p0 < k; p0 += KC) {
        const int kc = k - p0 < KC ? k - p0 : KC;
        sgemm_avx2_panel(m, n, kc, a + p0, lda, b + (size_t)p0 * ldb, ldb, c, ldc, panel);
    }
}

// AVX-512 (on CPUs of the VNNI path): 32-column strips, tiles of up to 12 rows × 32 columns
// (24 accumulators, 2 loads of B, a broadcast: 27 of the 32 registers). Each element of C is
// the same chain of FMAs in k order as on the AVX2 path, so both give the same bits; columns
// left over after the 32-wide strips take the AVX2 panel.
enum { KC512 = 128 };  // 128 rows × 128 bytes: a 16 KB strip

__attribute__((target("avx512f,avx2,fma"), always_inline))
static inline void sgemm_avx512_tile(const int MR, int k, const float *a, int lda, const float *panel,
                                     float *c, int ldc) {
    __m512 acc[12][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        acc[r][0] = _mm512_loadu_ps(c + (size_t)r * ldc);
        acc[r][1] = _mm512_loadu_ps(c + (size_t)r * ldc + 16);
    }
    const float *bp = panel;
    for (int p = 0; p < k; p++, bp += 32) {
        const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(a[(size_t)r * lda + p]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        _mm512_storeu_ps(c + (size_t)r * ldc, acc[r][0]);
        _mm512_storeu_ps(c + (size_t)r * ldc + 16, acc[r][1]);
    }
}

__attribute__((target("avx512f,avx2,fma")))
static void sgemm_avx512_panel(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                               float *c, int ldc, float *panel) {
    const int n32 = n & ~31;
    for (int j = 0; j < n32; j += 32) {
        for (int p = 0; p < k; p++) {
            const float *row = b + (size_t)p * ldb + j;
            _mm512_storeu_ps(panel + 32 * p, _mm512_loadu_ps(row));
            _mm512_storeu_ps(panel + 32 * p + 16, _mm512_loadu_ps(row + 16));
        }
        int i = 0;
        for (; i + 12 <= m; i += 12) sgemm_avx512_tile(12, k, a + (size_t)i * lda, lda, panel, c + (size_t)i * ldc + j, ldc);
        for (; i + 4 <= m; i += 4) sgemm_avx512_tile(4, k, a + (size_t)i * lda, lda, panel, c + (size_t)i * ldc + j, ldc);
        for (; i < m; i++) sgemm_avx512_tile(1, k, a + (size_t)i * lda, lda, panel, c + (size_t)i * ldc + j, ldc);
    }
    if (n32 < n) sgemm_avx2_panel(m, n - n32, k, a, lda, b + n32, ldb, c + n32, ldc, panel);
}

__attribute__((target("avx512f,avx2,fma")))
static void sgemm_avx512(int m, int n, int k,
                         const float *a, int lda,
                         const float *b, int ldb,
                         float *c, int ldc) {
    float panel[KC512 * 32];
    for (int p0 = 0; p0 < k; p0 += KC512) {
        const int kc = k - p0 < KC512 ? k - p0 : KC512;
        sgemm_avx512_panel(m, n, kc, a + p0, lda, b + (size_t)p0 * ldb, ldb, c, ldc, panel);
    }
}

// Detected once; concurrent first calls store the same value (atomic, so no data race).
static _Atomic int detected = -1;

static pane_cpu_path supported(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return PANE_CPU_SCALAR;
    // DQ and BW too: the 16-lane element-wise kernels use them (every VNNI CPU has both, but a
    // VM may mask flags one by one).
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw")) return PANE_CPU_VNNI;
    return PANE_CPU_AVX2;
}

static pane_cpu_path detect(void) {
    pane_cpu_path best = supported();
    const char *env = getenv("PANE_CPU");
    if (env && strcmp(env, "scalar") == 0) best = PANE_CPU_SCALAR;
    if (env && strcmp(env, "avx2") == 0 && best > PANE_CPU_AVX2) best = PANE_CPU_AVX2;
    return best;
}

// A path forced for this thread only (tests), -1 when none: a test that compares paths does not
// change the path of work running at the same time on other threads. Parallel.forEach and the
// codec's tile map hand the caller's override to their workers.
static _Thread_local int forced = -1;

pane_cpu_path pane_cpu_selected(void) {
    if (forced >= 0) return (pane_cpu_path)forced;
    int path = detected;
    if (path < 0) detected = path = (int)detect();
    return (pane_cpu_path)path;
}

pane_cpu_path pane_cpu_force(pane_cpu_path path) {
    const pane_cpu_path best = supported();
    forced = path <= best ? path : PANE_CPU_SCALAR;
    return (pane_cpu_path)forced;
}

int pane_cpu_override(void) { return forced; }

void pane_cpu_set_override(int path) { forced = path; }

void pane_sgemm(int m, int n, int k,
                const float *a, int lda,
                const float *b, int ldb,
                float *c, int ldc) {
    if (m <= 0 || n <= 0 || k <= 0) return;
    const pane_cpu_path path = pane_cpu_selected();
    if (path == PANE_CPU_VNNI) sgemm_avx512(m, n, k, a, lda, b, ldb, c, ldc);
    else if (path == PANE_CPU_AVX2) sgemm_avx2(m, n, k, a, lda, b, ldb, c, ldc);
    else pane_sgemm_reference(m, n, k, a, lda, b, ldb, c, ldc);
}
