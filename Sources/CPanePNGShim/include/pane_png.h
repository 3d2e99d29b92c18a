// Error-safe libpng entry points for PaneImageIO.
//
// libpng reports errors by longjmp to a jmp_buf the caller sets with setjmp,
// which Swift cannot do. These functions set it, so corrupt or truncated input
// comes back as a status code and a one-line message instead of an abort().
#ifndef PANE_PNG_H
#define PANE_PNG_H

#include <stddef.h>
#include <stdint.h>

/// Status codes returned by every function below.
typedef enum {
    PANE_PNG_OK = 0,
    PANE_PNG_TRUNCATED = 1,  ///< the data ended before the image did
    PANE_PNG_CORRUPT = 2,    ///< libpng refused the data; the message says why
    PANE_PNG_FAILED = 3,     ///< out of memory or a bad argument
} PanePNGStatus;

/// The layout a decoder delivers: palettes, low bit depths and tRNS expanded.
typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;      ///< 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int sourceBitDepth;  ///< bits per sample in the file (1, 2, 4, 8 or 16)
} PanePNGInfo;

typedef struct PanePNGDecoder PanePNGDecoder;

/// Reads the signature and the chunks before the image data.
/// REQUIRES: `data` stays valid until `pane_png_decoder_destroy`.
/// On success `*decoder` must be released with `pane_png_decoder_destroy`.
PanePNGStatus pane_png_decoder_create(const uint8_t *data, size_t size, PanePNGDecoder **decoder,
                                      PanePNGInfo *info, char *message, size_t messageCapacity);

/// Decodes all rows as 8-bit samples (16-bit ones rounded: (v * 255 + 32767) / 65535)
/// into `pixels`, rows packed without padding.
/// REQUIRES: `capacity` >= 2 * width * height * channels (16-bit rows are read whole, then reduced in place).
PanePNGStatus pane_png_decoder_read(PanePNGDecoder *decoder, uint8_t *pixels, size_t capacity,
                          char *message, size_t messageCapacity);

void pane_png_decoder_destroy(PanePNGDecoder *decoder);

/// One band of a PNG's image data, for pane_png_assemble: `rows` rows of interleaved 8-bit
/// samples (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), each filtered with Sub and the whole
/// raw-deflated at zlib level 1; a band that is not `last` ends with a sync flush, so bands deflated
/// on different threads concatenate into one stream. `*adler` is the Adler-32 of the band's
/// filtered bytes. On success `*output` holds `*outputSize` bytes to be released with `pane_png_free`.
PanePNGStatus pane_png_deflate_band(const uint8_t *pixels, uint32_t width, uint32_t rows, int channels, int last,
                                    uint8_t **output, size_t *outputSize, uint32_t *adler);

/// The non-interlaced PNG of `bands` bands in order (band b: `rows[b]` rows, `sizes[b]` deflated
/// bytes at `data[b]`, Adler-32 `adlers[b]`; the last made with `last`). On success `*output`
/// holds `*outputSize` bytes to be released with `pane_png_free`.
PanePNGStatus pane_png_assemble(uint32_t width, uint32_t height, int channels, int bands,
                                const uint8_t *const *data, const size_t *sizes, const uint32_t *adlers,
                                const uint32_t *rows, uint8_t **output, size_t *outputSize);

void pane_png_free(void *pointer);

#endif
