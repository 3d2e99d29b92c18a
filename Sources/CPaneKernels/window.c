// Moving one attention window between planar feature maps (channel-major, as every layer keeps
// them) and the blocks the attention GEMMs read: token-major rows for q and v, channel-major rows
// for k, and back. Pure data movement (q's softmax scale is one multiply per element), so the AVX2
// paths equal the scalar references bit for bit. A window row whose `width` pixels are consecutive
// in the map (all rows but those a shifted window wraps around the map's edge) moves as whole
// vectors: 8 channels × 8 pixels, transposed in registers; other groups of 8 tokens (wrapped rows,
// two rows of a 4-wide window) are gathered with vgatherdps and scattered lane by lane.
#include "pane_kernels.h"

#include <immintrin.h>

void pane_window_gather_tokens_reference(const float *src, size_t plane, int channels, const int32_t *pixel,
                                         int t, int width, float scale, float *out, int ldo) {
    (void)width;
    for (int n = 0; n < t; n++)
        for (int c = 0; c < channels; c++) out[(size_t)n * ldo + c] = src[(size_t)c * plane + pixel[n]] * scale;
}

void pane_window_gather_channels_reference(const float *src, size_t plane, int channels, const int32_t *pixel,
                                           int t, int width, float *out) {
    (void)width;
    for (int c = 0; c < channels; c++)
        for (int n = 0; n < t; n++) out[(size_t)c * t + n] = src[(size_t)c * plane + pixel[n]];
}

void pane_window_scatter_tokens_reference(const float *in, int ldi, int channels, const int32_t *pixel,
                                          int t, int width, float *dst, size_t plane) {
    (void)width;
    for (int n = 0; n < t; n++)
        for (int c = 0; c < channels; c++) dst[(size_t)c * plane + pixel[n]] = in[(size_t)n * ldi + c];
}

// Rows of 8 consecutive pixels: the vector paths' precondition, row by row.
static int row_is_consecutive(const int32_t *p) {
    for (int j = 1; j < 8; j++) if (p[j] != p[0] + j) return 0;
    return 1;
}

__attribute__((target("avx2")))
static inline void transpose8(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// The 8 pixels of tokens p[0..7] in one channel row: one load when they are consecutive (a
// window row of 8 not wrapped by the shift), else an AVX2 gather (wrapped rows; two rows of a
// 4-wide window).
__attribute__((target("avx2")))
static inline __m256 load8(const float *row, const int32_t *p, int consecutive) {
    return consecutive ? _mm256_loadu_ps(row + p[0])
                       : _mm256_i32gather_ps(row, _mm256_loadu_si256((const __m256i *)p), 4);
}

__attribute__((target("avx2")))
static inline void store8(float *row, const int32_t *p, int consecutive, __m256 v) {
    if (consecutive) {
        _mm256_storeu_ps(row + p[0], v);
        return;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (int i = 0; i < 8; i++) row[p[i]] = lanes[i];
}

__attribute__((target("avx2")))
static void gather_tokens_avx2(const float *src, size_t plane, int channels, const int32_t *pixel,
                               int t, float scale, float *out, int ldo) {
    const __m256 k = _mm256_set1_ps(scale);
    const int c8 = channels & ~7;
    for (int r0 = 0; r0 < t; r0 += 8) {
        const int32_t *p = pixel + r0;
        const int consecutive = row_is_consecutive(p);
        for (int c0 = 0; c0 < c8; c0 += 8) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = load8(src + (size_t)(c0 + j) * plane, p, consecutive);
            transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(out + (size_t)(r0 + i) * ldo + c0, _mm256_mul_ps(r[i], k));
        }
        for (int i = 0; i < 8; i++)
            for (int c = c8; c < channels; c++) out[(size_t)(r0 + i) * ldo + c] = src[(size_t)c * plane + p[i]] * scale;
    }
}

__attribute__((target("avx2")))
static void gather_channels_avx2(const float *src, size_t plane, int channels, const int32_t *pixel, int t, float *out) {
    for (int r0 = 0; r0 < t; r0 += 8) {
        const int32_t *p = pixel + r0;
        const int consecutive = row_is_consecutive(p);
        for (int c = 0; c < channels; c++)
            _mm256_storeu_ps(out + (size_t)c * t + r0, load8(src + (size_t)c * plane, p, consecutive));
    }
}

__attribute__((target("avx2")))
static void scatter_tokens_avx2(const float *in, int ldi, int channels, const int32_t *pixel, int t,
                                float *dst, size_t plane) {
    const int c8 = channels & ~7;
    for (int r0 = 0; r0 < t; r0 += 8) {
        const int32_t *p = pixel + r0;
        const int consecutive = row_is_consecutive(p);
        for (int c0 = 0; c0 < c8; c0 += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(in + (size_t)(r0 + i) * ldi + c0);
            transpose8(r);
            for (int j = 0; j < 8; j++) store8(dst + (size_t)(c0 + j) * plane, p, consecutive, r[j]);
        }
        for (int i = 0; i < 8; i++)
            for (int c = c8; c < channels; c++) dst[(size_t)c * plane + p[i]] = in[(size_t)(r0 + i) * ldi + c];
    }
}

// Any window width: the vector paths take tokens 8 at a time (t a multiple of 8).
void pane_window_gather_tokens(const float *src, size_t plane, int channels, const int32_t *pixel,
                               int t, int width, float scale, float *out, int ldo) {
    if (t % 8 == 0 && pane_cpu_selected() >= PANE_CPU_AVX2)
        gather_tokens_avx2(src, plane, channels, pixel, t, scale, out, ldo);
    else pane_window_gather_tokens_reference(src, plane, channels, pixel, t, width, scale, out, ldo);
}

void pane_window_gather_channels(const float *src, size_t plane, int channels, const int32_t *pixel,
                                 int t, int width, float *out) {
    if (t % 8 == 0 && pane_cpu_selected() >= PANE_CPU_AVX2)
        gather_channels_avx2(src, plane, channels, pixel, t, out);
    else pane_window_gather_channels_reference(src, plane, channels, pixel, t, width, out);
}

void pane_window_scatter_tokens(const float *in, int ldi, int channels, const int32_t *pixel,
                                int t, int width, float *dst, size_t plane) {
    if (t % 8 == 0 && pane_cpu_selected() >= PANE_CPU_AVX2)
        scatter_tokens_avx2(in, ldi, channels, pixel, t, dst, plane);
    else pane_window_scatter_tokens_reference(in, ldi, channels, pixel, t, width, dst, plane);
}
