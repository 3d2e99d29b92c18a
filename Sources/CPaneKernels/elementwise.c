// Element-wise kernels with runtime CPU dispatch: GELU (the erf form PyTorch uses: x · Φ(x))
// and row softmax. The AVX2 paths use a vector exp; GELU's erf is Abramowitz & Stegun 7.1.26
// (|error| ≤ 1.5e-7). The scalar paths use libm (erff, expf): the references the tests
// compare against.
#include "pane_kernels.h"

#include <math.h>
#include <immintrin.h>

void pane_gelu_reference(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

// e^a for a ≤ 0, and exactly 0 for a < −80 (e^−80 ≈ 2e-35): results near FLT_MIN would turn
// subnormal in the caller's next multiply (GELU's erf, softmax's normalisation), and x86 handles
// subnormals in microcode, hundreds of cycles each. a = k·ln2 + r with |r| ≤ ln2/2, e^r by its
// Taylor polynomial to r^6 (relative error < 2e-7).
__attribute__((target("avx2,fma")))
static inline __m256 exp_nonpositive(__m256 a) {
    const __m256 live = _mm256_cmp_ps(a, _mm256_set1_ps(-80.0f), _CMP_GE_OQ);
    a = _mm256_max_ps(a, _mm256_set1_ps(-87.0f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(a, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), a);  // ln2 high part
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860682030941723212e-6f), r);  // ln2 low part
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), live);
}

// GELU of 8 lanes (the AVX2 formula of pane_gelu; pane_gelu_quantize_u8 uses the same).
__attribute__((target("avx2,fma")))
static inline __m256 gelu8(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    const __m256 z = _mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f));
    const __m256 az = _mm256_andnot_ps(sign, z);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), az, one));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
    poly = _mm256_mul_ps(poly, t);
    const __m256 e = exp_nonpositive(_mm256_mul_ps(_mm256_xor_ps(az, sign), az));
    const __m256 erf_abs = _mm256_fnmadd_ps(poly, e, one);
    const __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(z, sign));  // erf is odd
    return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf));
}

__attribute__((target("avx2,fma")))
static void gelu_avx2(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
    pane_gelu_reference(x + i, n - i);
}

// The int8 layers' activation codes of 8 lanes: clamp(round_half_even(v · inverse) + zero, 0, 255)
// as int32 (pane_quantize_u8's arithmetic).
__attribute__((target("avx2")))
static inline __m256i codes8(__m256 v, __m256 inverse, __m256 zero) {
    v = _mm256_mul_ps(v, inverse);
    v = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zero);
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(255));   // NaN → 0
    return _mm256_cvtps_epi32(v);
}

// 32 int32 codes (in 0...255) → 32 bytes in order.
__attribute__((target("avx2")))
static inline void store_codes32(uint8_t *out, __m256i q0, __m256i q1, __m256i q2, __m256i q3) {
    const __m256i w01 = _mm256_packus_epi32(q0, q1), w23 = _mm256_packus_epi32(q2, q3);
    const __m256i b = _mm256_packus_epi16(w01, w23);   // packs work within 128-bit lanes
    _mm256_storeu_si256((__m256i *)out, _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// 8 int32 codes → 8 bytes in order.
__attribute__((target("avx2")))
static inline void store_codes8(uint8_t *out, __m256i q) {
    const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(w, w));
}

// AVX-512 twins of exp_nonpositive, gelu8 and codes8 (CPUs of the VNNI path): every lane goes
// through the same operations in the same order, so they give the 8-lane versions' bits.
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

AVX512 static inline __m512 exp_nonpositive16(__m512 a) {
    const __mmask16 live = _mm512_cmp_ps_mask(a, _mm512_set1_ps(-80.0f), _CMP_GE_OQ);
    a = _mm512_max_ps(a, _mm512_set1_ps(-87.0f));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), a);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(live, _mm512_mul_ps(p, _mm512_castsi512_ps(bits)));
}

AVX512 static inline __m512 gelu16(__m512 v) {
    const __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    const __m512 z = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    const __m512 az = _mm512_andnot_ps(sign, z);
    const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), az, one));
    __m512 poly = _mm512_set1_ps(1.061405429f);
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-1.453152027f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
    poly = _mm512_mul_ps(poly, t);
    const __m512 e = exp_nonpositive16(_mm512_mul_ps(_mm512_xor_ps(az, sign), az));
    const __m512 erf_abs = _mm512_fnmadd_ps(poly, e, one);
    const __m512 erf = _mm512_or_ps(erf_abs, _mm512_and_ps(z, sign));
    return _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf));
}

AVX512 static inline __m512i codes16(__m512 v, __m512 inverse, __m512 zero) {
    v = _mm512_mul_ps(v, inverse);
    v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zero);
    v = _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(255));   // NaN → 0
    return _mm512_cvtps_epi32(v);
}

AVX512 static inline void store_codes16(uint8_t *out, __m512i q) {
    _mm_storeu_si128((__m128i *)out, _mm512_cvtepi32_epi8(q));   // values are 0...255 already
}

AVX512 static void gelu_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
    gelu_avx2(x + i, n - i);   // a last 8, then the reference: the lanes the AVX2 pass would give
}

void pane_gelu(float *x, size_t n) {
    if (pane_cpu_selected() == PANE_CPU_VNNI) gelu_avx512(x, n);
    else if (pane_cpu_selected() >= PANE_CPU_AVX2) gelu_avx2(x, n);
    else pane_gelu_reference(x, n);
}

// Probabilities below this are stored as 0. Masked scores (−100) and far-off keys otherwise give
// values near FLT_MIN whose products with v are subnormal, and x86 handles subnormals in microcode:
// the shifted-window attention of a Kodak image ran 2× slower for its 39 masked windows of 384. A
// weight under 1e-20 changes an output that other weights (at least 1/t of them) dominate by a
// negligible amount (at most its last bit).
#define SOFTMAX_FLOOR 1e-20f

void pane_softmax_rows_reference(float *s, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        float *row = s + (size_t)i * cols;
        float m = -INFINITY;
        for (int j = 0; j < cols; j++) m = fmaxf(m, row[j]);
        float sum = 0;
        for (int j = 0; j < cols; j++) {
            row[j] = expf(row[j] - m);
            sum += row[j];
        }
        const float inverse = 1 / sum;
        for (int j = 0; j < cols; j++) {
            const float p = row[j] * inverse;
            row[j] = p >= SOFTMAX_FLOOR ? p : 0;
        }
    }
}

__attribute__((target("avx2,fma")))
static void softmax_rows_avx2(float *s, int rows, int cols) {
    const int c8 = cols & ~7;
    if (c8 != cols) {
        pane_softmax_rows_reference(s, rows, cols);
        return;
    }
    for (int i = 0; i < rows; i++) {
        float *row = s + (size_t)i * cols;
        __m256 m = _mm256_set1_ps(-INFINITY);
        for (int j = 0; j < cols; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(row + j));
        m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));
        m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
        m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
        __m256 sum = _mm256_setzero_ps();
        for (int j = 0; j < cols; j += 8) {
            const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(row + j), m));
            _mm256_storeu_ps(row + j, e);
            sum = _mm256_add_ps(sum, e);
        }
        sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(sum, sum, 1));
        sum = _mm256_add_ps(sum, _mm256_shuffle_ps(sum, sum, _MM_SHUFFLE(1, 0, 3, 2)));
        sum = _mm256_add_ps(sum, _mm256_shuffle_ps(sum, sum, _MM_SHUFFLE(2, 3, 0, 1)));
        const __m256 inverse = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
        const __m256 floor = _mm256_set1_ps(SOFTMAX_FLOOR);
        for (int j = 0; j < cols; j += 8) {
            const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(row + j), inverse);
            _mm256_storeu_ps(row + j, _mm256_and_ps(p, _mm256_cmp_ps(p, floor, _CMP_GE_OQ)));
        }
    }
}

// 16 columns a vector; the sum adds each vector's two 8-lane halves in turn, as the AVX2 loop adds
// consecutive 8-column vectors, and reduces the same way, so every row gets the AVX2 bits.
AVX512 static void softmax_rows_avx512(float *s, int rows, int cols) {
    if (cols % 16 != 0) {
        softmax_rows_avx2(s, rows, cols);
        return;
    }
    for (int i = 0; i < rows; i++) {
        float *row = s + (size_t)i * cols;
        __m512 m16 = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < cols; j += 16) m16 = _mm512_max_ps(m16, _mm512_loadu_ps(row + j));
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(m16));   // max is exact in any order
        __m256 sum = _mm256_setzero_ps();
        for (int j = 0; j < cols; j += 16) {
            const __m512 e = exp_nonpositive16(_mm512_sub_ps(_mm512_loadu_ps(row + j), m));
            _mm512_storeu_ps(row + j, e);
            sum = _mm256_add_ps(sum, _mm512_castps512_ps256(e));
            sum = _mm256_add_ps(sum, _mm512_extractf32x8_ps(e, 1));
        }
        sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(sum, sum, 1));
        sum = _mm256_add_ps(sum, _mm256_shuffle_ps(sum, sum, _MM_SHUFFLE(1, 0, 3, 2)));
        sum = _mm256_add_ps(sum, _mm256_shuffle_ps(sum, sum, _MM_SHUFFLE(2, 3, 0, 1)));
        const __m512 inverse = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_broadcastss_ps(_mm256_castps256_ps128(sum)));
        const __m512 floor = _mm512_set1_ps(SOFTMAX_FLOOR);
        for (int j = 0; j < cols; j += 16) {
            const __m512 p = _mm512_mul_ps(_mm512_loadu_ps(row + j), inverse);
            _mm512_storeu_ps(row + j, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p, floor, _CMP_GE_OQ), p));
        }
    }
}

void pane_softmax_rows(float *s, int rows, int cols) {
    if (pane_cpu_selected() == PANE_CPU_VNNI) softmax_rows_avx512(s, rows, cols);
    else if (pane_cpu_selected() >= PANE_CPU_AVX2) softmax_rows_avx2(s, rows, cols);
    else pane_softmax_rows_reference(s, rows, cols);
}

// One output row of one phase of a transposed convolution with few output channels (see
// Deconv2D.direct): out[co][b] = bias[co] + Σ_t weights[co][t] · lines[t][b], t over the
// (input channel, tap) pairs, lines[t] NULL for a row outside the image. The accumulators of all
// output channels stay in registers while each input vector is loaded once.
void pane_deconv_row_reference(int cout, int terms, const float *weights, const float *const *lines,
                               const float *bias, int nb, float *out) {
    for (int co = 0; co < cout; co++) {
        for (int b = 0; b < nb; b++) {
            float acc = bias[co];
            for (int t = 0; t < terms; t++) {
                if (lines[t]) acc += weights[(size_t)co * terms + t] * lines[t][b];
            }
            out[(size_t)co * nb + b] = acc;
        }
    }
}

__attribute__((target("avx2,fma")))
static void deconv_row_avx2(int cout, int terms, const float *weights, const float *const *lines,
                            const float *bias, int nb, float *out) {
    int b = 0;
    for (; b + 8 <= nb; b += 8) {
        __m256 acc[PANE_DECONV_ROW_MAX_OUT];
        for (int co = 0; co < cout; co++) acc[co] = _mm256_set1_ps(bias[co]);
        for (int t = 0; t < terms; t++) {
            if (!lines[t]) continue;
            const __m256 x = _mm256_loadu_ps(lines[t] + b);
            for (int co = 0; co < cout; co++)
                acc[co] = _mm256_fmadd_ps(_mm256_set1_ps(weights[(size_t)co * terms + t]), x, acc[co]);
        }
        for (int co = 0; co < cout; co++) _mm256_storeu_ps(out + (size_t)co * nb + b, acc[co]);
    }
    for (; b < nb; b++) {
        for (int co = 0; co < cout; co++) {
            float acc = bias[co];
            for (int t = 0; t < terms; t++) {
                if (lines[t]) acc = __builtin_fmaf(weights[(size_t)co * terms + t], lines[t][b], acc);
            }
            out[(size_t)co * nb + b] = acc;
        }
    }
}

void pane_deconv_row(int cout, int terms, const float *weights, const float *const *lines,
                     const float *bias, int nb, float *out) {
    if (cout <= PANE_DECONV_ROW_MAX_OUT && pane_cpu_selected() >= PANE_CPU_AVX2)
        deconv_row_avx2(cout, terms, weights, lines, bias, nb, out);
    else pane_deconv_row_reference(cout, terms, weights, lines, bias, nb, out);
}

// GDN's element-wise passes and the residual add. Every operation is one correctly rounded IEEE
// multiply, add, square root or divide, so the AVX2 paths equal the scalar references bit for bit
// (the Swift loops they replace compiled to 4-wide SSE: the binary targets baseline x86-64).
void pane_square_reference(const float *x, size_t n, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] * x[i];
}

__attribute__((target("avx2")))
static void square_avx2(const float *x, size_t n, float *out) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(v, v));
    }
    pane_square_reference(x + i, n - i, out + i);
}

void pane_square(const float *x, size_t n, float *out) {
    if (pane_cpu_selected() >= PANE_CPU_AVX2) square_avx2(x, n, out);
    else pane_square_reference(x, n, out);
}

void pane_gdn_apply_reference(const float *x, const float *norm, size_t n, int inverse, float *out) {
    if (inverse) {
        for (size_t i = 0; i < n; i++) out[i] = x[i] * sqrtf(norm[i]);
    } else {
        for (size_t i = 0; i < n; i++) out[i] = x[i] / sqrtf(norm[i]);
    }
}

__attribute__((target("avx2")))
static void gdn_apply_avx2(const float *x, const float *norm, size_t n, int inverse, float *out) {
    size_t i = 0;
    if (inverse) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_sqrt_ps(_mm256_loadu_ps(norm + i))));
    } else {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_div_ps(_mm256_loadu_ps(x + i), _mm256_sqrt_ps(_mm256_loadu_ps(norm + i))));
    }
    pane_gdn_apply_reference(x + i, norm + i, n - i, inverse, out + i);
}

void pane_gdn_apply(const float *x, const float *norm, size_t n, int inverse, float *out) {
    if (pane_cpu_selected() >= PANE_CPU_AVX2) gdn_apply_avx2(x, norm, n, inverse, out);
    else pane_gdn_apply_reference(x, norm, n, inverse, out);
}

void pane_add_reference(float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] += b[i];
}

__attribute__((target("avx2")))
static void add_avx2(float *a, const float *b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(a + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    pane_add_reference(a + i, b + i, n - i);
}

void pane_add(float *a, const float *b, size_t n) {
    if (pane_cpu_selected() >= PANE_CPU_AVX2) add_avx2(a, b, n);
    else pane_add_reference(a, b, n);
}

// GELU then the activation codes, in one pass (the fc1 → fc2 step of an int8 Swin block). The
// vector body is gelu8 then codes8, as pane_gelu then pane_quantize_u8 compute; the last n % 8
// values take the scalar references of both, as those functions do for a tail.
void pane_gelu_quantize_u8_reference(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        pane_gelu_reference(&v, 1);
        pane_quantize_u8_reference(&v, 1, inverse, zero, out + i);
    }
}

__attribute__((target("avx2,fma")))
static void gelu_quantize_u8_avx2(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    const __m256 inv = _mm256_set1_ps(inverse), z = _mm256_set1_ps(zero);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        store_codes32(out + i, codes8(gelu8(_mm256_loadu_ps(x + i)), inv, z),
                      codes8(gelu8(_mm256_loadu_ps(x + i + 8)), inv, z),
                      codes8(gelu8(_mm256_loadu_ps(x + i + 16)), inv, z),
                      codes8(gelu8(_mm256_loadu_ps(x + i + 24)), inv, z));
    }
    for (; i + 8 <= n; i += 8) store_codes8(out + i, codes8(gelu8(_mm256_loadu_ps(x + i)), inv, z));
    pane_gelu_quantize_u8_reference(x + i, n - i, inverse, zero, out + i);
}

AVX512 static void gelu_quantize_u8_avx512(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    const __m512 inv = _mm512_set1_ps(inverse), z = _mm512_set1_ps(zero);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) store_codes16(out + i, codes16(gelu16(_mm512_loadu_ps(x + i)), inv, z));
    gelu_quantize_u8_avx2(x + i, n - i, inverse, zero, out + i);
}

void pane_gelu_quantize_u8(const float *x, size_t n, float inverse, float zero, uint8_t *out) {
    if (pane_cpu_selected() == PANE_CPU_VNNI) gelu_quantize_u8_avx512(x, n, inverse, zero, out);
    else if (pane_cpu_selected() >= PANE_CPU_AVX2) gelu_quantize_u8_avx2(x, n, inverse, zero, out);
    else pane_gelu_quantize_u8_reference(x, n, inverse, zero, out);
}

// LayerNorm over the channels of the pixels [start, start + n) of a planar map. Per pixel, in
// this order (the arithmetic of the Swift ChannelLayerNorm it replaced, so the same bits):
// mean = (Σ_c x) · (1/C); var = Σ_c (x − mean)² · (1/C); r = 1 / sqrt(var + ε);
// y = (x − mean) · r · weight[c] + bias[c], each operation rounded on its own (no FMA).
// With `inverse`, each y becomes its activation code (codes8) in `codes` instead of a float in `out`.
static void layer_norm_pixel(const float *x, size_t plane, int channels, size_t p, const float *weight,
                             const float *bias, float epsilon, float *out, uint8_t *codes,
                             const float *inverse, const float *zero) {
    const float inv = 1.0f / (float)channels;
    float mean = 0;
    for (int c = 0; c < channels; c++) mean += x[(size_t)c * plane + p];
    mean *= inv;
    float var = 0;
    for (int c = 0; c < channels; c++) {
        const float d = x[(size_t)c * plane + p] - mean;
        const float dd = d * d;
        var += dd;
    }
    float r = var * inv;
    r = r + epsilon;
    r = 1.0f / sqrtf(r);
    for (int c = 0; c < channels; c++) {
        float y = x[(size_t)c * plane + p] - mean;
        y = y * r;
        y = y * weight[c];
        y = y + bias[c];
        if (inverse) pane_quantize_u8_reference(&y, 1, inverse[c], zero[c], codes + (size_t)c * plane + p);
        else out[(size_t)c * plane + p] = y;
    }
}

void pane_layer_norm_reference(const float *x, size_t plane, int channels, size_t start, size_t n,
                               const float *weight, const float *bias, float epsilon,
                               float *out, uint8_t *codes, const float *inverse, const float *zero) {
    for (size_t p = start; p < start + n; p++)
        layer_norm_pixel(x, plane, channels, p, weight, bias, epsilon, out, codes, inverse, zero);
}

// Blocks of up to 128 pixels (16 vectors of 8): each sweep reads every channel's 512 contiguous
// bytes of the block (prefetch-friendly rows; the block's channels stay in L1/L2 across the three
// sweeps), per pixel the same operations in the same order as the reference.
enum { LN_BLOCK = 16 };

__attribute__((target("avx2,fma")))
static void layer_norm_avx2(const float *x, size_t plane, int channels, size_t start, size_t n,
                            const float *weight, const float *bias, float epsilon,
                            float *out, uint8_t *codes, const float *inverse, const float *zero) {
    const __m256 inv = _mm256_set1_ps(1.0f / (float)channels), eps = _mm256_set1_ps(epsilon);
    __m256 mean[LN_BLOCK], r[LN_BLOCK];
    size_t p = start;
    while (p + 8 <= start + n) {
        const int nv = (int)((start + n - p) / 8 < LN_BLOCK ? (start + n - p) / 8 : LN_BLOCK);
        for (int v = 0; v < nv; v++) mean[v] = _mm256_setzero_ps();
        for (int c = 0; c < channels; c++) {
            const float *row = x + (size_t)c * plane + p;
            for (int v = 0; v < nv; v++) mean[v] = _mm256_add_ps(mean[v], _mm256_loadu_ps(row + 8 * v));
        }
        for (int v = 0; v < nv; v++) {
            mean[v] = _mm256_mul_ps(mean[v], inv);
            r[v] = _mm256_setzero_ps();
        }
        for (int c = 0; c < channels; c++) {
            const float *row = x + (size_t)c * plane + p;
            for (int v = 0; v < nv; v++) {
                const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + 8 * v), mean[v]);
                r[v] = _mm256_add_ps(r[v], _mm256_mul_ps(d, d));
            }
        }
        for (int v = 0; v < nv; v++)
            r[v] = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(r[v], inv), eps)));
        for (int c = 0; c < channels; c++) {
            const float *row = x + (size_t)c * plane + p;
            const __m256 g = _mm256_set1_ps(weight[c]), b = _mm256_set1_ps(bias[c]);
            if (inverse) {
                const __m256 qi = _mm256_set1_ps(inverse[c]), qz = _mm256_set1_ps(zero[c]);
                uint8_t *dst = codes + (size_t)c * plane + p;
                for (int v = 0; v < nv; v++) {
                    __m256 y = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + 8 * v), mean[v]), r[v]);
                    y = _mm256_add_ps(_mm256_mul_ps(y, g), b);
                    store_codes8(dst + 8 * v, codes8(y, qi, qz));
                }
            } else {
                float *dst = out + (size_t)c * plane + p;
                for (int v = 0; v < nv; v++) {
                    __m256 y = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + 8 * v), mean[v]), r[v]);
                    _mm256_storeu_ps(dst + 8 * v, _mm256_add_ps(_mm256_mul_ps(y, g), b));
                }
            }
        }
        p += 8 * (size_t)nv;
    }
    pane_layer_norm_reference(x, plane, channels, p, start + n - p, weight, bias, epsilon, out, codes, inverse, zero);
}

// 16 pixels a vector, blocks of up to 128 pixels; per pixel the AVX2 path's operations.
AVX512 static void layer_norm_avx512(const float *x, size_t plane, int channels, size_t start, size_t n,
                                     const float *weight, const float *bias, float epsilon,
                                     float *out, uint8_t *codes, const float *inverse, const float *zero) {
    const __m512 inv = _mm512_set1_ps(1.0f / (float)channels), eps = _mm512_set1_ps(epsilon);
    __m512 mean[LN_BLOCK / 2], r[LN_BLOCK / 2];
    size_t p = start;
    while (p + 16 <= start + n) {
        const int nv = (int)((start + n - p) / 16 < LN_BLOCK / 2 ? (start + n - p) / 16 : LN_BLOCK / 2);
        for (int v = 0; v < nv; v++) mean[v] = _mm512_setzero_ps();
        for (int c = 0; c < channels; c++) {
            const float *row = x + (size_t)c * plane + p;
            for (int v = 0; v < nv; v++) mean[v] = _mm512_add_ps(mean[v], _mm512_loadu_ps(row + 16 * v));
        }
        for (int v = 0; v < nv; v++) {
            mean[v] = _mm512_mul_ps(mean[v], inv);
            r[v] = _mm512_setzero_ps();
        }
        for (int c = 0; c < channels; c++) {
            const float *row = x + (size_t)c * plane + p;
            for (int v = 0; v < nv; v++) {
                const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), mean[v]);
                r[v] = _mm512_add_ps(r[v], _mm512_mul_ps(d, d));
            }
        }
        for (int v = 0; v < nv; v++)
            r[v] = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_sqrt_ps(_mm512_add_ps(_mm512_mul_ps(r[v], inv), eps)));
        for (int c = 0; c < channels; c++) {
            const float *row = x + (size_t)c * plane + p;
            const __m512 g = _mm512_set1_ps(weight[c]), b = _mm512_set1_ps(bias[c]);
            if (inverse) {
                const __m512 qi = _mm512_set1_ps(inverse[c]), qz = _mm512_set1_ps(zero[c]);
                uint8_t *dst = codes + (size_t)c * plane + p;
                for (int v = 0; v < nv; v++) {
                    __m512 y = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), mean[v]), r[v]);
                    y = _mm512_add_ps(_mm512_mul_ps(y, g), b);
                    store_codes16(dst + 16 * v, codes16(y, qi, qz));
                }
            } else {
                float *dst = out + (size_t)c * plane + p;
                for (int v = 0; v < nv; v++) {
                    __m512 y = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), mean[v]), r[v]);
                    _mm512_storeu_ps(dst + 16 * v, _mm512_add_ps(_mm512_mul_ps(y, g), b));
                }
            }
        }
        p += 16 * (size_t)nv;
    }
    layer_norm_avx2(x, plane, channels, p, start + n - p, weight, bias, epsilon, out, codes, inverse, zero);
}

void pane_layer_norm(const float *x, size_t plane, int channels, size_t start, size_t n,
                     const float *weight, const float *bias, float epsilon,
                     float *out, uint8_t *codes, const float *inverse, const float *zero) {
    if (pane_cpu_selected() == PANE_CPU_VNNI)
        layer_norm_avx512(x, plane, channels, start, n, weight, bias, epsilon, out, codes, inverse, zero);
    else if (pane_cpu_selected() >= PANE_CPU_AVX2)
        layer_norm_avx2(x, plane, channels, start, n, weight, bias, epsilon, out, codes, inverse, zero);
    else
        pane_layer_norm_reference(x, plane, channels, start, n, weight, bias, epsilon, out, codes, inverse, zero);
}
