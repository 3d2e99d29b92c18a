// Exact int16 GEMM for the integer entropy path: int64 C = int16 A · int16 B.
//
// B's entries split into a low byte and a high byte, b = 256·h + l with l in 0..255 and h in
// −128..127, and the two halves go through int16 multiply-add instructions (vpdpwssd with
// AVX-512 VNNI on 512-bit vectors, vpmaddwd + vpaddd with AVX2) into separate int32 accumulators. A K block of at
// most KW = 256 terms keeps every int32 sum exact (256 · 32767 · 255 < 2^31; wrap-around in
// between is harmless since the arithmetic is modular and the block's total fits), and each block
// is added into the int64 result as lo + 256·hi. Every path computes the same integers, so the
// entropy model does not depend on the CPU.
#include "pane_kernels.h"

#include <immintrin.h>
#include <string.h>

void pane_wgemm_reference(int m, int n, int k,
                          const int16_t *a, int lda,
                          const int16_t *b, int ldb,
                          int64_t *c, int ldc) {
    for (int i = 0; i < m; i++) {
        int64_t *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++) ci[j] = 0;
        for (int p = 0; p < k; p++) {
            const int64_t av = a[(size_t)i * lda + p];
            if (av == 0) continue;
            const int16_t *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++) ci[j] += av * bp[j];
        }
    }
}

enum { KW = 256, PAIRS = KW / 2 };

// One panel holds a 16-column strip of B over one K block, as pairs of rows: for pair q the low
// bytes of rows 2q and 2q+1 interleaved column by column (32 int16: columns 0–7, then 8–15), and
// the high bytes likewise in the second half of the panel. Rows past k and columns past n are 0.
// `stride`: int16 elements from one pair to the next (32; 64 for the 32-column panels of the
// 512-bit path, two 16-column halves side by side). With `hi` NULL the entries are not split:
// `lo` gets rows 2q and 2q+1 themselves, interleaved the same way (the narrow kernels).
__attribute__((target("avx2")))
static void pack_pairs(int pairs, int rows, int cols, const int16_t *b, int ldb, int16_t *lo, int16_t *hi, int stride) {
    const __m256i low_byte = _mm256_set1_epi16(0xff);
    int16_t part[2][16];
    for (int q = 0; q < pairs; q++) {
        const int16_t *r[2];
        for (int t = 0; t < 2; t++) {
            const int row = 2 * q + t;
            if (row < rows && cols == 16) { r[t] = b + (size_t)row * ldb; continue; }
            memset(part[t], 0, sizeof part[t]);
            if (row < rows) memcpy(part[t], b + (size_t)row * ldb, sizeof(int16_t) * (size_t)cols);
            r[t] = part[t];
        }
        const __m256i r0 = _mm256_loadu_si256((const __m256i *)r[0]);
        const __m256i r1 = _mm256_loadu_si256((const __m256i *)r[1]);
        if (hi == NULL) {   // whole entries (the narrow kernels): rows interleaved, no split
            const __m256i wa = _mm256_unpacklo_epi16(r0, r1), wb = _mm256_unpackhi_epi16(r0, r1);
            _mm256_storeu_si256((__m256i *)(lo + (size_t)stride * q), _mm256_permute2x128_si256(wa, wb, 0x20));
            _mm256_storeu_si256((__m256i *)(lo + (size_t)stride * q + 16), _mm256_permute2x128_si256(wa, wb, 0x31));
            continue;
        }
        const __m256i l0 = _mm256_and_si256(r0, low_byte), l1 = _mm256_and_si256(r1, low_byte);
        const __m256i h0 = _mm256_srai_epi16(r0, 8), h1 = _mm256_srai_epi16(r1, 8);
        // unpack works within 128-bit lanes: (cols 0–3 | 8–11) and (4–7 | 12–15); the permutes
        // put columns 0–7 in the first vector and 8–15 in the second.
        const __m256i la = _mm256_unpacklo_epi16(l0, l1), lb = _mm256_unpackhi_epi16(l0, l1);
        const __m256i ha = _mm256_unpacklo_epi16(h0, h1), hb = _mm256_unpackhi_epi16(h0, h1);
        _mm256_storeu_si256((__m256i *)(lo + (size_t)stride * q), _mm256_permute2x128_si256(la, lb, 0x20));
        _mm256_storeu_si256((__m256i *)(lo + (size_t)stride * q + 16), _mm256_permute2x128_si256(la, lb, 0x31));
        _mm256_storeu_si256((__m256i *)(hi + (size_t)stride * q), _mm256_permute2x128_si256(ha, hb, 0x20));
        _mm256_storeu_si256((__m256i *)(hi + (size_t)stride * q + 16), _mm256_permute2x128_si256(ha, hb, 0x31));
    }
}

// A's row entries 2q, 2q+1 as one int32 (rows are zero-padded to an even length).
static inline int32_t pair(const int16_t *ai, int q) {
    int32_t v;
    memcpy(&v, ai + 2 * q, 4);
    return v;
}

// c[0..cols) (+)= lo + 256·hi, for the 16 columns held in (lo0, lo1) and (hi0, hi1).
__attribute__((target("avx2")))
static inline void add_block(int64_t *c, int cols, __m256i lo0, __m256i lo1, __m256i hi0, __m256i hi1, int first) {
    int32_t l[16], h[16];
    _mm256_storeu_si256((__m256i *)l, lo0);
    _mm256_storeu_si256((__m256i *)(l + 8), lo1);
    _mm256_storeu_si256((__m256i *)h, hi0);
    _mm256_storeu_si256((__m256i *)(h + 8), hi1);
    if (cols == 16) {
        for (int t = 0; t < 16; t += 4) {
            const __m256i v = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(l + t))),
                                               _mm256_slli_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(h + t))), 8));
            if (first) _mm256_storeu_si256((__m256i *)(c + t), v);
            else _mm256_storeu_si256((__m256i *)(c + t), _mm256_add_epi64(v, _mm256_loadu_si256((const __m256i *)(c + t))));
        }
        return;
    }
    for (int j = 0; j < cols; j++) {
        const int64_t v = (int64_t)l[j] + (int64_t)h[j] * 256;
        c[j] = first ? v : c[j] + v;
    }
}

// 512-bit VNNI: MR ≤ 6 rows × 32 columns, four accumulators per row (low/high bytes × two
// column halves): 24 accumulators, 4 panel loads and a broadcast.
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"), always_inline))
static inline void add_block512(int64_t *c, int cols, __m512i lo, __m512i hi, int first) {
    if (cols == 16) {
        const __m512i l0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(lo));
        const __m512i l1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(lo, 1));
        const __m512i h0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(hi));
        const __m512i h1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(hi, 1));
        __m512i v0 = _mm512_add_epi64(l0, _mm512_slli_epi64(h0, 8));
        __m512i v1 = _mm512_add_epi64(l1, _mm512_slli_epi64(h1, 8));
        if (!first) {
            v0 = _mm512_add_epi64(v0, _mm512_loadu_si512((const void *)c));
            v1 = _mm512_add_epi64(v1, _mm512_loadu_si512((const void *)(c + 8)));
        }
        _mm512_storeu_si512((void *)c, v0);
        _mm512_storeu_si512((void *)(c + 8), v1);
        return;
    }
    int32_t l[16], h[16];
    _mm512_storeu_si512((void *)l, lo);
    _mm512_storeu_si512((void *)h, hi);
    for (int j = 0; j < cols; j++) {
        const int64_t v = (int64_t)l[j] + (int64_t)h[j] * 256;
        c[j] = first ? v : c[j] + v;
    }
}

__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"), always_inline))
static inline void wgemm_vnni512_tile(const int MR, int cols, int pairs, const int16_t *a, int lda, int q0,
                                      const int16_t *lo, const int16_t *hi, int64_t *c, int ldc, int first) {
    __m512i acc[6][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_si512();
    for (int q = 0; q < pairs; q++) {
        const __m512i l0 = _mm512_loadu_si512((const void *)(lo + 64 * q));
        const __m512i l1 = _mm512_loadu_si512((const void *)(lo + 64 * q + 32));
        const __m512i h0 = _mm512_loadu_si512((const void *)(hi + 64 * q));
        const __m512i h1 = _mm512_loadu_si512((const void *)(hi + 64 * q + 32));
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            const __m512i av = _mm512_set1_epi32(pair(a + (size_t)r * lda, q0 + q));
            acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], l0, av);
            acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], l1, av);
            acc[r][2] = _mm512_dpwssd_epi32(acc[r][2], h0, av);
            acc[r][3] = _mm512_dpwssd_epi32(acc[r][3], h1, av);
        }
    }
    const int c0 = cols < 16 ? cols : 16, c1 = cols > 16 ? cols - 16 : 0;
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        int64_t *cr = c + (size_t)r * ldc;
        add_block512(cr, c0, acc[r][0], acc[r][2], first);
        if (c1) add_block512(cr + 16, c1, acc[r][1], acc[r][3], first);
    }
}

// AVX2: vpmaddwd gives the same exact pair sums (no operand is −32768 on both sides); MR ≤ 2
// rows keep the 8 accumulators and 4 panel vectors within 16 registers.
__attribute__((target("avx2"), always_inline))
static inline void wgemm_avx2_tile(const int MR, int cols, int pairs, const int16_t *a, int lda, int q0,
                                   const int16_t *lo, const int16_t *hi, int64_t *c, int ldc, int first) {
    __m256i acc[2][4];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_si256();
    for (int q = 0; q < pairs; q++) {
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(lo + 32 * q));
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(lo + 32 * q + 16));
        const __m256i h0 = _mm256_loadu_si256((const __m256i *)(hi + 32 * q));
        const __m256i h1 = _mm256_loadu_si256((const __m256i *)(hi + 32 * q + 16));
        for (int r = 0; r < MR; r++) {
            const __m256i av = _mm256_set1_epi32(pair(a + (size_t)r * lda, q0 + q));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(l0, av));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(l1, av));
            acc[r][2] = _mm256_add_epi32(acc[r][2], _mm256_madd_epi16(h0, av));
            acc[r][3] = _mm256_add_epi32(acc[r][3], _mm256_madd_epi16(h1, av));
        }
    }
    for (int r = 0; r < MR; r++) add_block(c + (size_t)r * ldc, cols, acc[r][0], acc[r][1], acc[r][2], acc[r][3], first);
}

// Narrow A (|a| ≤ 255, as Training/entropy_int.py exports since 2026-11-30): a K block of
// 256 terms sums below 2^31 without splitting B (256 · 255 · 32768 < 2^31), so each block takes
// one int16 multiply-add pass instead of two. Same blocks, same integers.
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"), always_inline))
static inline void wgemm_narrow_vnni512_tile(const int MR, int cols, int pairs, const int16_t *a, int lda, int q0,
                                             const int16_t *p, int64_t *c, int ldc, int first) {
    __m512i acc[12][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (int q = 0; q < pairs; q++) {
        const __m512i b0 = _mm512_loadu_si512((const void *)(p + 64 * q));
        const __m512i b1 = _mm512_loadu_si512((const void *)(p + 64 * q + 32));
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            const __m512i av = _mm512_set1_epi32(pair(a + (size_t)r * lda, q0 + q));
            acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], b0, av);
            acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], b1, av);
        }
    }
    const int c0 = cols < 16 ? cols : 16, c1 = cols > 16 ? cols - 16 : 0;
    const __m512i zero = _mm512_setzero_si512();
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        int64_t *cr = c + (size_t)r * ldc;
        add_block512(cr, c0, acc[r][0], zero, first);
        if (c1) add_block512(cr + 16, c1, acc[r][1], zero, first);
    }
}

__attribute__((target("avx2"), always_inline))
static inline void wgemm_narrow_avx2_tile(const int MR, int cols, int pairs, const int16_t *a, int lda, int q0,
                                          const int16_t *p, int64_t *c, int ldc, int first) {
    __m256i acc[4][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int q = 0; q < pairs; q++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(p + 32 * q));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(p + 32 * q + 16));
        for (int r = 0; r < MR; r++) {
            const __m256i av = _mm256_set1_epi32(pair(a + (size_t)r * lda, q0 + q));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(b0, av));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(b1, av));
        }
    }
    const __m256i zero = _mm256_setzero_si256();
    for (int r = 0; r < MR; r++) add_block(c + (size_t)r * ldc, cols, acc[r][0], acc[r][1], zero, zero, first);
}

// One driver per instruction set, for both kinds of A: a panel of B per 32 (AVX2: 16) columns
// and K block, split into bytes (lo, hi) for wide A or kept whole (lo only) for narrow A, then
// the row tiles of the matching kernel.
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))
static void wgemm_vnni512(int narrow, int m, int n, int k, const int16_t *a, int lda, const int16_t *b, int ldb,
                          int64_t *c, int ldc) {
    int16_t lo[PAIRS * 64], hi[PAIRS * 64];
    const int pairs = (k + 1) / 2;
    for (int j = 0; j < n; j += 32) {
        const int cols = n - j < 32 ? n - j : 32;
        for (int q0 = 0; q0 < pairs; q0 += PAIRS) {
            const int kp = pairs - q0 < PAIRS ? pairs - q0 : PAIRS;
            const int rows = k - 2 * q0 < 2 * kp ? k - 2 * q0 : 2 * kp;
            const int16_t *bq = b + (size_t)(2 * q0) * ldb + j;
            pack_pairs(kp, rows, cols < 16 ? cols : 16, bq, ldb, lo, narrow ? NULL : hi, 64);
            pack_pairs(kp, rows, cols > 16 ? cols - 16 : 0, bq + (cols > 16 ? 16 : 0), ldb, lo + 32,
                       narrow ? NULL : hi + 32, 64);
            int64_t *cj = c + j;
            int i = 0;
            if (narrow) {
                for (; i + 12 <= m; i += 12) wgemm_narrow_vnni512_tile(12, cols, kp, a + (size_t)i * lda, lda, q0, lo, cj + (size_t)i * ldc, ldc, q0 == 0);
                for (; i + 4 <= m; i += 4) wgemm_narrow_vnni512_tile(4, cols, kp, a + (size_t)i * lda, lda, q0, lo, cj + (size_t)i * ldc, ldc, q0 == 0);
                for (; i < m; i++) wgemm_narrow_vnni512_tile(1, cols, kp, a + (size_t)i * lda, lda, q0, lo, cj + (size_t)i * ldc, ldc, q0 == 0);
            } else {
                for (; i + 6 <= m; i += 6) wgemm_vnni512_tile(6, cols, kp, a + (size_t)i * lda, lda, q0, lo, hi, cj + (size_t)i * ldc, ldc, q0 == 0);
                for (; i + 2 <= m; i += 2) wgemm_vnni512_tile(2, cols, kp, a + (size_t)i * lda, lda, q0, lo, hi, cj + (size_t)i * ldc, ldc, q0 == 0);
                for (; i < m; i++) wgemm_vnni512_tile(1, cols, kp, a + (size_t)i * lda, lda, q0, lo, hi, cj + (size_t)i * ldc, ldc, q0 == 0);
            }
        }
    }
}

__attribute__((target("avx2")))
static void wgemm_avx2(int narrow, int m, int n, int k, const int16_t *a, int lda, const int16_t *b, int ldb,
                       int64_t *c, int ldc) {
    int16_t lo[PAIRS * 32], hi[PAIRS * 32];
    const int pairs = (k + 1) / 2;
    for (int j = 0; j < n; j += 16) {
        const int cols = n - j < 16 ? n - j : 16;
        for (int q0 = 0; q0 < pairs; q0 += PAIRS) {
            const int kp = pairs - q0 < PAIRS ? pairs - q0 : PAIRS;
            const int rows = k - 2 * q0 < 2 * kp ? k - 2 * q0 : 2 * kp;
            pack_pairs(kp, rows, cols, b + (size_t)(2 * q0) * ldb + j, ldb, lo, narrow ? NULL : hi, 32);
            int64_t *cj = c + j;
            int i = 0;
            if (narrow) {
                for (; i + 4 <= m; i += 4) wgemm_narrow_avx2_tile(4, cols, kp, a + (size_t)i * lda, lda, q0, lo, cj + (size_t)i * ldc, ldc, q0 == 0);
                for (; i < m; i++) wgemm_narrow_avx2_tile(1, cols, kp, a + (size_t)i * lda, lda, q0, lo, cj + (size_t)i * ldc, ldc, q0 == 0);
            } else {
                for (; i + 2 <= m; i += 2) wgemm_avx2_tile(2, cols, kp, a + (size_t)i * lda, lda, q0, lo, hi, cj + (size_t)i * ldc, ldc, q0 == 0);
                for (; i < m; i++) wgemm_avx2_tile(1, cols, kp, a + (size_t)i * lda, lda, q0, lo, hi, cj + (size_t)i * ldc, ldc, q0 == 0);
            }
        }
    }
}

static void wgemm(int narrow, int m, int n, int k, const int16_t *a, int lda, const int16_t *b, int ldb,
                  int64_t *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, sizeof(int64_t) * (size_t)n);
        return;
    }
    const pane_cpu_path path = pane_cpu_selected();
    if (path == PANE_CPU_SCALAR) pane_wgemm_reference(m, n, k, a, lda, b, ldb, c, ldc);
    else if (path == PANE_CPU_VNNI) wgemm_vnni512(narrow, m, n, k, a, lda, b, ldb, c, ldc);
    else wgemm_avx2(narrow, m, n, k, a, lda, b, ldb, c, ldc);
}

void pane_wgemm(int m, int n, int k, const int16_t *a, int lda, const int16_t *b, int ldb, int64_t *c, int ldc) {
    wgemm(0, m, n, k, a, lda, b, ldb, c, ldc);
}

void pane_wgemm_narrow(int m, int n, int k, const int16_t *a, int lda, const int16_t *b, int ldb, int64_t *c, int ldc) {
    wgemm(1, m, n, k, a, lda, b, ldb, c, ldc);
}
