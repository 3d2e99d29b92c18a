// Error-safe libjpeg entry points for PaneImageIO.
//
// libjpeg's default error handler prints to stderr and calls exit(). These
// functions install one that records the message and longjmps back, so bad
// input comes back as a status code and a one-line message. Warnings that mean
// the pixels are wrong (premature end of data, bad Huffman codes) are errors too.
#ifndef PANE_JPEG_H
#define PANE_JPEG_H

#include <stddef.h>
#include <stdint.h>

/// Status codes returned by every function below.
typedef enum {
    PANE_JPEG_OK = 0,
    PANE_JPEG_TRUNCATED = 1,    ///< the data ended before the image did
    PANE_JPEG_CORRUPT = 2,      ///< libjpeg refused the data; the message says why
    PANE_JPEG_UNSUPPORTED = 3,  ///< a valid JPEG Pane does not read (CMYK, YCCK, 2 or 4+ components)
    PANE_JPEG_FAILED = 4,       ///< out of memory or a bad argument
} PaneJPEGStatus;

/// libjpeg's largest width or height (JPEG_MAX_DIMENSION).
#define PANE_JPEG_MAX_DIMENSION 65500

/// What a decoder delivers: 8-bit samples, 1 (gray) or 3 (RGB) per pixel.
typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;
} PaneJPEGInfo;

typedef struct PaneJPEGDecoder PaneJPEGDecoder;

/// Reads the markers up to the first scan.
/// REQUIRES: `data` stays valid until `pane_jpeg_decoder_destroy`.
/// On success `*decoder` must be released with `pane_jpeg_decoder_destroy`.
PaneJPEGStatus pane_jpeg_decoder_create(const uint8_t *data, size_t size, PaneJPEGDecoder **decoder, PaneJPEGInfo *info,
                             char *message, size_t messageCapacity);

/// Decodes all scanlines into `pixels`, rows packed without padding.
/// REQUIRES: `capacity` >= width * height * channels.
PaneJPEGStatus pane_jpeg_decoder_read(PaneJPEGDecoder *decoder, uint8_t *pixels, size_t capacity,
                           char *message, size_t messageCapacity);

void pane_jpeg_decoder_destroy(PaneJPEGDecoder *decoder);

/// Chroma subsampling of an RGB encode (ignored for gray).
typedef enum {
    PANE_JPEG_SUBSAMPLING_420 = 0,
    PANE_JPEG_SUBSAMPLING_422 = 1,
    PANE_JPEG_SUBSAMPLING_444 = 2,
} PaneJPEGSubsampling;

typedef struct {
    int quality;  ///< 1...100, libjpeg's scale
    PaneJPEGSubsampling subsampling;
    int optimizeCoding;  ///< nonzero: optimal Huffman tables (smaller file, slower)
    int progressive;     ///< nonzero: libjpeg's default progressive script
} PaneJPEGEncodeOptions;

/// Encodes interleaved 8-bit gray (channels 1) or RGB (channels 3) samples.
/// On success `*output` holds `*outputSize` bytes to be released with `pane_jpeg_free`.
PaneJPEGStatus pane_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                     const PaneJPEGEncodeOptions *options, uint8_t **output, size_t *outputSize,
                     char *message, size_t messageCapacity);

void pane_jpeg_free(void *pointer);

#endif
