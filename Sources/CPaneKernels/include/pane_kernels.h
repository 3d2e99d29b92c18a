#ifndef PANE_KERNELS_H
#define PANE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set paths of the dispatched kernels.
typedef enum {
    PANE_CPU_SCALAR = 0,
    PANE_CPU_AVX2 = 1,
    /// AVX2 plus AVX-512 (F, VL, VNNI): the int8 and int16 GEMMs use vpdpbusd / vpdpwssd, the
    /// float GEMM 512-bit FMAs (bit-identical to its AVX2 path); other kernels take AVX2.
    PANE_CPU_VNNI = 2,
} pane_cpu_path;

/// The best path this CPU supports, lowered by the environment variable
/// PANE_CPU=scalar|avx2|vnni when set. Chosen once, on first use.
pane_cpu_path pane_cpu_selected(void);

/// Forces a path for the calling thread (tests); a path the CPU lacks falls back to scalar.
/// Returns the path in effect.
pane_cpu_path pane_cpu_force(pane_cpu_path path);

/// The calling thread's forced path, or -1; and setting it (-1 clears), for handing a forced
/// path on to worker threads.
int pane_cpu_override(void);
void pane_cpu_set_override(int path);

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

/// x ← GELU(x) = x · Φ(x) in place (the erf form). The AVX2 path is within 1e-6 of the
/// reference, relative to max(1, |x|).
void pane_gelu(float *x, size_t n);

/// The scalar reference of pane_gelu (libm erff).
void pane_gelu_reference(float *x, size_t n);

/// Each row of the rows × cols matrix s (row-major) ← softmax(row). The AVX2 path (cols a
/// multiple of 8; others take the reference) is within 1e-6 of the reference.
void pane_softmax_rows(float *s, int rows, int cols);

/// The scalar reference of pane_softmax_rows (libm expf).
void pane_softmax_rows_reference(float *s, int rows, int cols);

/// out[i] = x[i]² (GDN's squares). The AVX2 path equals the reference bit for bit.
void pane_square(const float *x, size_t n, float *out);
void pane_square_reference(const float *x, size_t n, float *out);

/// GDN's output: out[i] = x[i] / √norm[i], or x[i] · √norm[i] when `inverse` (IGDN). The AVX2
/// path equals the reference bit for bit.
void pane_gdn_apply(const float *x, const float *norm, size_t n, int inverse, float *out);
void pane_gdn_apply_reference(const float *x, const float *norm, size_t n, int inverse, float *out);

/// a[i] += b[i] (residual connections). The AVX2 path equals the reference bit for bit.
void pane_add(float *a, const float *b, size_t n);
void pane_add_reference(float *a, const float *b, size_t n);

/// One attention window of `t` pixels (`pixel[n]`: index of token n in a plane of `plane` floats,
/// rows of `width` tokens) between planar maps and GEMM blocks. The AVX2 paths (width 8) equal
/// the references bit for bit.
/// gather_tokens: out[n·ldo + c] = src[c·plane + pixel[n]] · scale (token-major rows).
void pane_window_gather_tokens(const float *src, size_t plane, int channels, const int32_t *pixel,
                               int t, int width, float scale, float *out, int ldo);
void pane_window_gather_tokens_reference(const float *src, size_t plane, int channels, const int32_t *pixel,
                                         int t, int width, float scale, float *out, int ldo);
/// gather_channels: out[c·t + n] = src[c·plane + pixel[n]] (channel-major rows).
void pane_window_gather_channels(const float *src, size_t plane, int channels, const int32_t *pixel,
                                 int t, int width, float *out);
void pane_window_gather_channels_reference(const float *src, size_t plane, int channels, const int32_t *pixel,
                                           int t, int width, float *out);
/// scatter_tokens: dst[c·plane + pixel[n]] = in[n·ldi + c].
void pane_window_scatter_tokens(const float *in, int ldi, int channels, const int32_t *pixel,
                                int t, int width, float *dst, size_t plane);
void pane_window_scatter_tokens_reference(const float *in, int ldi, int channels, const int32_t *pixel,
                                          int t, int width, float *dst, size_t plane);

/// Most output channels pane_deconv_row keeps in registers (more take the reference).
#define PANE_DECONV_ROW_MAX_OUT 8

/// One output row of a transposed convolution's phase with few output channels:
/// out[co·nb + b] = bias[co] + Σ_t weights[co·terms + t] · lines[t][b] for b < nb, where a NULL
/// lines[t] (an input row outside the image) adds nothing. The AVX2 path fuses the multiply-adds.
void pane_deconv_row(int cout, int terms, const float *weights, const float *const *lines,
                     const float *bias, int nb, float *out);

/// The scalar reference of pane_deconv_row.
void pane_deconv_row_reference(int cout, int terms, const float *weights, const float *const *lines,
                               const float *bias, int nb, float *out);

/// SHA-256 compression of `blocks` 64-byte blocks into `state` (padding is the caller's).
/// Uses the x86 SHA extensions when present (pane_cpu_has_sha), else the reference.
void pane_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

/// The plain C SHA-256 compression (the test oracle).
void pane_sha256_blocks_reference(uint32_t state[8], const uint8_t *data, size_t blocks);

/// 1 if the CPU has the SHA extensions (and PANE_CPU does not force scalar).
int pane_cpu_has_sha(void);

/// C[m×n] = A[m×k] · B[k×n] in int64: A and B int16, all row-major. Exact on every path (the
/// integer entropy path, which must not depend on the CPU): B splits into bytes, each half sums
/// in int32 over blocks of 256 terms, and the blocks add up in int64.
/// REQUIRES: |A| ≤ 32767; lda ≥ 2·⌈k/2⌉ and A's entry k of every row is zero when k is odd (the
/// kernels read A in pairs); buffers do not alias. Single-threaded; does not allocate.
void pane_wgemm(int m, int n, int k,
                const int16_t *a, int lda,
                const int16_t *b, int ldb,
                int64_t *c, int ldc);

/// pane_wgemm for narrow A, |A| ≤ 255 (the integer path's weights as exported since
/// 2026-11-30): one int16 multiply-add pass a K block instead of two, B any int16. Same integers.
/// REQUIRES: |A| ≤ 255, and pane_wgemm's layout requirements.
void pane_wgemm_narrow(int m, int n, int k,
                       const int16_t *a, int lda,
                       const int16_t *b, int ldb,
                       int64_t *c, int ldc);

/// The scalar reference of pane_wgemm (and of pane_wgemm_narrow).
void pane_wgemm_reference(int m, int n, int k,
                          const int16_t *a, int lda,
                          const int16_t *b, int ldb,
                          int64_t *c, int ldc);

/// C[m×n] = A[m×k] · B[k×n] in int32: A int8 in −127…127, B uint8, all row-major. Exact on every
/// path (VNNI, AVX2, scalar) for k < 66,000.
/// REQUIRES: lda ≥ 4·⌈k/4⌉ and A's entries k..<4·⌈k/4⌉ of every row are zero (the kernels read
/// A in groups of 4); buffers do not alias. Single-threaded; does not allocate.
void pane_igemm(int m, int n, int k,
                const int8_t *a, int lda,
                const uint8_t *b, int ldb,
                int32_t *c, int ldc);

/// The scalar reference of pane_igemm.
void pane_igemm_reference(int m, int n, int k,
                          const int8_t *a, int lda,
                          const uint8_t *b, int ldb,
                          int32_t *c, int ldc);

/// pane_igemm with the dequantization fused into its epilogue (the 512-bit path keeps the int32
/// sums of earlier K blocks in C itself and writes the floats after the last block): C[i][j] = (float)(Σ − correction[i]) · scale[i] + bias[i], multiplied then
/// added (two roundings, no FMA), so every path gives the same bits. correction may be NULL (0).
/// REQUIRES: as pane_igemm; C is m rows of ldc floats.
void pane_igemm_dequantize(int m, int n, int k,
                           const int8_t *a, int lda,
                           const uint8_t *b, int ldb,
                           float *c, int ldc,
                           const int32_t *correction, const float *scale, const float *bias);

/// out[i] = clamp(round_half_even(x[i] · inverse) + zero, 0, 255) (NaN → 0), the activation codes
/// of the int8 layers; every path gives the same bytes.
void pane_quantize_u8(const float *x, size_t n, float inverse, float zero, uint8_t *out);

/// The scalar reference of pane_quantize_u8.
void pane_quantize_u8_reference(const float *x, size_t n, float inverse, float zero, uint8_t *out);

/// pane_gelu then pane_quantize_u8 in one pass over x (the same bytes as the two calls; GELU's
/// AVX2 formula for every full vector of 8, the reference for the last n % 8).
void pane_gelu_quantize_u8(const float *x, size_t n, float inverse, float zero, uint8_t *out);

/// The scalar reference of pane_gelu_quantize_u8.
void pane_gelu_quantize_u8_reference(const float *x, size_t n, float inverse, float zero, uint8_t *out);

/// LayerNorm over the `channels` planes (each `plane` floats apart) of the pixels
/// [start, start + n): y = (x − mean) · (1 / sqrt(var + epsilon)) · weight[c] + bias[c], every
/// operation rounded on its own. Writes y to `out`, or, when `inverse` is non-NULL, the int8
/// layers' activation codes of y (pane_quantize_u8 with inverse[c], zero[c]) to `codes`. The
/// AVX2 path equals the reference bit for bit.
void pane_layer_norm(const float *x, size_t plane, int channels, size_t start, size_t n,
                     const float *weight, const float *bias, float epsilon,
                     float *out, uint8_t *codes, const float *inverse, const float *zero);

/// The scalar reference of pane_layer_norm.
void pane_layer_norm_reference(const float *x, size_t plane, int channels, size_t start, size_t n,
                               const float *weight, const float *bias, float epsilon,
                               float *out, uint8_t *codes, const float *inverse, const float *zero);

/// glibc: mmap threshold to its maximum (32 MB) and trim threshold to 256 MB, so freed large
/// blocks are reused instead of unmapped and faulted in again; and 96 MB of heap reserved up front
/// with madvise(MADV_HUGEPAGE), so tensors fault in 2 MB pages (a fresh `pane decode` of a Kodak
/// image: 23k → 6k page faults, 150 → 135 ms). No-op on other C libraries.
void pane_keep_freed_blocks(void);

#ifdef __cplusplus
}
#endif

#endif
