// int8 GEMM for the quantized convolutions: int32 C = int8 A · uint8 B, with runtime dispatch.
// Every path computes the same exact integer sums (|C| ≤ k · 255 · 127 < 2^31 for k < 66,000 with
// |A| ≤ 127: the model loader refuses −128), so results do not depend on the CPU.
#include "pane_kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

// The dequantizing epilogues multiply, then add, on every path: no FMA contraction anywhere here.
#pragma STDC FP_CONTRACT OFF

void pane_igemm_reference(int m, int n, int k,
                          const int8_t *a, int lda,
                          const uint8_t *b, int ldb,
                          int32_t *c, int ldc) {
    for (int i = 0; i < m; i++) {
        int32_t *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++) ci[j] = 0;
        for (int p = 0; p < k; p++) {
            const int32_t av = a[(size_t)i * lda + p];
            const uint8_t *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++) ci[j] += av * (int32_t)bp[j];
        }
    }
}

// B is packed one 16-column strip at a time in groups of 4 rows ("quads"): for quad q and column
// j, the 4 bytes B[4q..4q+3][j] are adjacent, so one 64-byte step of the panel is 16 columns × 4
// rows of k, the operand layout of vpdpbusd. Rows past k are zero; columns past n are zero.
enum { KQ = 512 };  // quads per panel block: 512 × 64 bytes = 32 KB

// `stride` bytes from one quad to the next: 64 for a 16-column panel, 128 for the 32-column
// panels of the 512-bit path (two 16-column halves side by side).
__attribute__((target("avx2")))
static void pack_quads(int kq, int rows, int cols, const uint8_t *b, int ldb, uint8_t *panel, int stride) {
    for (int q = 0; q < kq; q++) {
        const uint8_t *r[4];
        uint8_t zero_row[16] = {0};
        uint8_t part[4][16];
        for (int t = 0; t < 4; t++) {
            const int row = 4 * q + t;
            if (row >= rows) { r[t] = zero_row; continue; }
            if (cols == 16) { r[t] = b + (size_t)row * ldb; continue; }
            memset(part[t], 0, 16);
            memcpy(part[t], b + (size_t)row * ldb, (size_t)cols);
            r[t] = part[t];
        }
        const __m128i r0 = _mm_loadu_si128((const __m128i *)r[0]), r1 = _mm_loadu_si128((const __m128i *)r[1]);
        const __m128i r2 = _mm_loadu_si128((const __m128i *)r[2]), r3 = _mm_loadu_si128((const __m128i *)r[3]);
        const __m128i a01lo = _mm_unpacklo_epi8(r0, r1), a01hi = _mm_unpackhi_epi8(r0, r1);
        const __m128i a23lo = _mm_unpacklo_epi8(r2, r3), a23hi = _mm_unpackhi_epi8(r2, r3);
        __m128i *out = (__m128i *)(panel + (size_t)stride * q);
        _mm_storeu_si128(out + 0, _mm_unpacklo_epi16(a01lo, a23lo));
        _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(a01lo, a23lo));
        _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(a01hi, a23hi));
        _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(a01hi, a23hi));
    }
}

// The quad of A's row i at quad q as one int32 (A's rows are zero past k: lda ≥ 4·ceil(k/4)).
static inline int32_t quad(const int8_t *ai, int q) {
    int32_t v;
    memcpy(&v, ai + 4 * q, 4);
    return v;
}

__attribute__((target("avx2")))
static inline void store_tile(int32_t *c, int ldc, int cols, __m256i lo, __m256i hi, int first) {
    int32_t tmp[16];
    if (cols == 16 && first) {
        _mm256_storeu_si256((__m256i *)c, lo);
        _mm256_storeu_si256((__m256i *)(c + 8), hi);
        return;
    }
    _mm256_storeu_si256((__m256i *)tmp, lo);
    _mm256_storeu_si256((__m256i *)(tmp + 8), hi);
    for (int j = 0; j < cols; j++) c[j] = first ? tmp[j] : c[j] + tmp[j];
}

// 512-bit VNNI: MR ≤ 12 rows × 32 columns, 24 accumulators, 2 panel loads and a broadcast.
enum { KQ512 = 128 };  // quads per block: 128 × 128 bytes = 16 KB

// The dequantizing epilogue of pane_igemm_dequantize, per row: (Σ − correction) · scale + bias.
typedef struct {
    const int32_t *correction;   // may be NULL (no zero-point correction)
    const float *scale, *bias;
} dequantization;

// Sixteen columns of one row of C after a K block: add the int32 sums of earlier blocks (they
// are kept in C itself), then store int32, or, after the last block of a dequantizing GEMM, the
// floats (multiply, then add: the same two roundings as the Swift `dequantize` pass).
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"), always_inline))
static inline void finish16(void *c, __mmask16 mask, __m512i v, int first, const dequantization *dq, int row) {
    if (!mask) return;
    if (!first) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(mask, c));
    if (!dq) {
        _mm512_mask_storeu_epi32(c, mask, v);
        return;
    }
    if (dq->correction) v = _mm512_sub_epi32(v, _mm512_set1_epi32(dq->correction[row]));
    const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(dq->scale[row]));
    _mm512_mask_storeu_ps(c, mask, _mm512_add_ps(f, _mm512_set1_ps(dq->bias[row])));
}

// `dq` non-NULL on the last K block of a dequantizing GEMM; rows of dq are offset to this tile.
__attribute__((target("avx2,avx512f,avx512vl,avx512vnni"), always_inline))
static inline void igemm_vnni512_tile(const int MR, int cols, int kq, const int8_t *a, int lda, int q0,
                                      const uint8_t *panel, int32_t *c, int ldc, int first,
                                      const dequantization *dq, int row0) {
    __m512i acc[12][2];
    // Fully unrolled, so the accumulators live in registers (unrolled only partly, clang keeps
    // the array on the stack and zero-fills it with memset for every tile).
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    const uint8_t *bp = panel;
    for (int q = 0; q < kq; q++, bp += 128) {
        const __m512i b0 = _mm512_loadu_si512((const void *)bp);
        const __m512i b1 = _mm512_loadu_si512((const void *)(bp + 64));
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            const __m512i av = _mm512_set1_epi32(quad(a + (size_t)r * lda, q0 + q));
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], b0, av);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], b1, av);
        }
    }
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        int32_t *cr = c + (size_t)r * ldc;
        finish16(cr, m0, acc[r][0], first, dq, row0 + r);
        finish16(cr + 16, m1, acc[r][1], first, dq, row0 + r);
    }
}

__attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))
static void igemm_vnni512(int m, int n, int k, const int8_t *a, int lda, const uint8_t *b, int ldb,
                          int32_t *c, int ldc, const dequantization *dq) {
    uint8_t panel[KQ512 * 128];
    const int quads = (k + 3) / 4;
    for (int j = 0; j < n; j += 32) {
        const int cols = n - j < 32 ? n - j : 32;
        for (int q0 = 0; q0 < quads; q0 += KQ512) {
            const int kq = quads - q0 < KQ512 ? quads - q0 : KQ512;
            const int rows = k - 4 * q0 < 4 * kq ? k - 4 * q0 : 4 * kq;
            const uint8_t *bq = b + (size_t)(4 * q0) * ldb + j;
            pack_quads(kq, rows, cols < 16 ? cols : 16, bq, ldb, panel, 128);
            pack_quads(kq, rows, cols > 16 ? cols - 16 : 0, bq + (cols > 16 ? 16 : 0), ldb, panel + 64, 128);
            const int first = q0 == 0;
            const dequantization *last = q0 + kq == quads ? dq : NULL;
            int32_t *cj = c + j;
            int i = 0;
            for (; i + 12 <= m; i += 12) igemm_vnni512_tile(12, cols, kq, a + (size_t)i * lda, lda, q0, panel, cj + (size_t)i * ldc, ldc, first, last, i);
            for (; i + 4 <= m; i += 4) igemm_vnni512_tile(4, cols, kq, a + (size_t)i * lda, lda, q0, panel, cj + (size_t)i * ldc, ldc, first, last, i);
            for (; i < m; i++) igemm_vnni512_tile(1, cols, kq, a + (size_t)i * lda, lda, q0, panel, cj + (size_t)i * ldc, ldc, first, last, i);
        }
    }
}

// AVX2 without VNNI: the quads through vpmaddwd. The u8 quad splits into its even and odd
// bytes as int16 (b0, b2) and (b1, b3); the s8 quad of A likewise into (a0, a2) and (a1, a3);
// two vpmaddwd give b0a0 + b2a2 and b1a1 + b3a3 per column, exactly (no saturation).
// 4 rows × 16 columns: 8 accumulators.
__attribute__((target("avx2")))
static void igemm_avx2_block(int m, int cols, int kq, const int8_t *a, int lda, int q0,
                             const uint8_t *panel, int32_t *c, int ldc, int first) {
    const __m256i low_bytes = _mm256_set1_epi16(0x00ff);
    int i = 0;
    for (; i < m; i += 4) {
        const int rows = m - i < 4 ? m - i : 4;
        __m256i acc[4][2];
        for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        const uint8_t *bp = panel;
        for (int q = 0; q < kq; q++, bp += 64) {
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)bp);
            const __m256i b1 = _mm256_loadu_si256((const __m256i *)(bp + 32));
            const __m256i e0 = _mm256_and_si256(b0, low_bytes), o0 = _mm256_srli_epi16(b0, 8);
            const __m256i e1 = _mm256_and_si256(b1, low_bytes), o1 = _mm256_srli_epi16(b1, 8);
            for (int r = 0; r < 4; r++) {
                if (r >= rows) break;
                const __m256i av = _mm256_set1_epi32(quad(a + (size_t)(i + r) * lda, q0 + q));
                const __m256i ae = _mm256_srai_epi16(_mm256_slli_epi16(av, 8), 8);
                const __m256i ao = _mm256_srai_epi16(av, 8);
                acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_add_epi32(_mm256_madd_epi16(e0, ae),
                                                                         _mm256_madd_epi16(o0, ao)));
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_add_epi32(_mm256_madd_epi16(e1, ae),
                                                                         _mm256_madd_epi16(o1, ao)));
            }
        }
        for (int r = 0; r < rows; r++) store_tile(c + (size_t)(i + r) * ldc, ldc, cols, acc[r][0], acc[r][1], first);
    }
}

__attribute__((target("avx2")))
static void igemm_avx2(int m, int n, int k, const int8_t *a, int lda, const uint8_t *b, int ldb,
                       int32_t *c, int ldc) {
    uint8_t panel[KQ * 64];
    const int quads = (k + 3) / 4;
    for (int j = 0; j < n; j += 16) {
        const int cols = n - j < 16 ? n - j : 16;
        for (int q0 = 0; q0 < quads; q0 += KQ) {
            const int kq = quads - q0 < KQ ? quads - q0 : KQ;
            const int rows = k - 4 * q0 < 4 * kq ? k - 4 * q0 : 4 * kq;
            pack_quads(kq, rows, cols, b + (size_t)(4 * q0) * ldb + j, ldb, panel, 64);
            igemm_avx2_block(m, cols, kq, a, lda, q0, panel, c + j, ldc, q0 == 0);
        }
    }
}

void pane_igemm(int m, int n, int k,
                const int8_t *a, int lda,
                const uint8_t *b, int ldb,
                int32_t *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, sizeof(int32_t) * (size_t)n);
        return;
    }
    const pane_cpu_path path = pane_cpu_selected();
    if (path == PANE_CPU_SCALAR) pane_igemm_reference(m, n, k, a, lda, b, ldb, c, ldc);
    else if (path == PANE_CPU_VNNI) igemm_vnni512(m, n, k, a, lda, b, ldb, c, ldc, NULL);
    else igemm_avx2(m, n, k, a, lda, b, ldb, c, ldc);
}

void pane_igemm_dequantize(int m, int n, int k,
                           const int8_t *a, int lda,
                           const uint8_t *b, int ldb,
                           float *c, int ldc,
                           const int32_t *correction, const float *scale, const float *bias) {
    if (m <= 0 || n <= 0) return;
    const dequantization dq = {correction, scale, bias};
    // The int32 sums go into C's own memory (4 bytes a value, like the floats that replace them).
    int32_t *sums = (int32_t *)(void *)c;
    if (k > 0 && pane_cpu_selected() == PANE_CPU_VNNI) {
        igemm_vnni512(m, n, k, a, lda, b, ldb, sums, ldc, &dq);
        return;
    }
    pane_igemm(m, n, k, a, lda, b, ldb, sums, ldc);
    for (int i = 0; i < m; i++) {
        char *row = (char *)(c + (size_t)i * ldc);
        const int32_t z = correction ? correction[i] : 0;
        for (int j = 0; j < n; j++) {
            int32_t v;
            memcpy(&v, row + 4 * (size_t)j, 4);
            float f = (float)(v - z);
            f = f * scale[i];   // two statements: never contracted into an FMA
            f = f + bias[i];
            memcpy(row + 4 * (size_t)j, &f, 4);
        }
    }
}

void pane_quantize_u8_reference(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] * inverse) + zero;   // ties to even (the default rounding mode)
        v = v > 0 ? v : 0;                             // NaN → 0
        v = v < 255 ? v : 255;
        out[i] = (uint8_t)v;
    }
}

__attribute__((target("avx2")))
static void quantize_u8_avx2(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    const __m256 inv = _mm256_set1_ps(inverse), z = _mm256_set1_ps(zero);
    const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i q[4];
        for (int t = 0; t < 4; t++) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * t), inv);
            v = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);   // max(NaN, 0) = 0, as the reference
            q[t] = _mm256_cvtps_epi32(v);
        }
        // int32 → uint8 in order: packs work within 128-bit lanes, the permute restores the order.
        const __m256i w01 = _mm256_packus_epi32(q[0], q[1]), w23 = _mm256_packus_epi32(q[2], q[3]);
        const __m256i b = _mm256_packus_epi16(w01, w23);
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_permutevar8x32_epi32(b, order));
    }
    pane_quantize_u8_reference(x + i, n - i, inverse, zero, out + i);
}

// 16 lanes of quantize_u8_avx2's arithmetic (the same bytes).
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2")))
static void quantize_u8_avx512(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    const __m512 inv = _mm512_set1_ps(inverse), z = _mm512_set1_ps(zero);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), inv);
        v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);   // max(NaN, 0) = 0, as the reference
        _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
    quantize_u8_avx2(x + i, n - i, inverse, zero, out + i);
}

void pane_quantize_u8(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    if (pane_cpu_selected() == PANE_CPU_VNNI) quantize_u8_avx512(x, n, inverse, zero, out);
    else if (pane_cpu_selected() >= PANE_CPU_AVX2) quantize_u8_avx2(x, n, inverse, zero, out);
    else pane_quantize_u8_reference(x, n, inverse, zero, out);
}
