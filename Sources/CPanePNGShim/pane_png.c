#include "pane_png.h"

#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MESSAGE_SIZE = 192 };

// The error pointer of every png_struct here is a buffer of 2 × MESSAGE_SIZE: the error message,
// then the last warning. libpng gives the reason for a bad IHDR ("Invalid bit depth in IHDR")
// only as a warning before its error ("Invalid IHDR data"), so the two are joined.

struct PanePNGDecoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;  // set by the read callback before it raises the error
    char message[2 * MESSAGE_SIZE];
};


static void copy_message(char *destination, size_t capacity, const char *text) {
    if (capacity > 0) snprintf(destination, capacity, "%s", text);
}

static void on_error(png_structp png, png_const_charp text) {
    char *message = png_get_error_ptr(png);
    const char *warning = message + MESSAGE_SIZE;
    if (strstr(text, "IHDR") != NULL && strstr(warning, "IHDR") != NULL) {
        snprintf(message, MESSAGE_SIZE, "%s (%s)", text, warning);
    } else {
        copy_message(message, MESSAGE_SIZE, text);
    }
    png_longjmp(png, 1);
}

// Warnings (bad ancillary chunks, odd ICC profiles) leave the pixels intact: only the last is
// kept, to explain an IHDR error that follows it.
static void on_warning(png_structp png, png_const_charp text) {
    copy_message((char *)png_get_error_ptr(png) + MESSAGE_SIZE, MESSAGE_SIZE, text);
}

static void read_from_memory(png_structp png, png_bytep out, size_t count) {
    PanePNGDecoder *decoder = png_get_io_ptr(png);
    if (count > decoder->size - decoder->offset) {
        decoder->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(out, decoder->data + decoder->offset, count);
    decoder->offset += count;
}

static PanePNGStatus failure(const PanePNGDecoder *decoder, char *message, size_t messageCapacity) {
    copy_message(message, messageCapacity, decoder->message);
    return decoder->truncated ? PANE_PNG_TRUNCATED : PANE_PNG_CORRUPT;
}

PanePNGStatus pane_png_decoder_create(const uint8_t *data, size_t size, PanePNGDecoder **decoder,
                                      PanePNGInfo *info, char *message, size_t messageCapacity) {
    *decoder = NULL;
    PanePNGDecoder *d = calloc(1, sizeof *d);
    if (d != NULL) d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d->message, on_error, on_warning);
    if (d != NULL && d->png != NULL) d->info = png_create_info_struct(d->png);
    if (d == NULL || d->info == NULL) {
        pane_png_decoder_destroy(d);
        copy_message(message, messageCapacity, "out of memory");
        return PANE_PNG_FAILED;
    }
    d->data = data;
    d->size = size;
    if (setjmp(png_jmpbuf(d->png))) {
        PanePNGStatus status = failure(d, message, messageCapacity);
        pane_png_decoder_destroy(d);
        return status;
    }
    png_set_read_fn(d->png, d, read_from_memory);
    // PaneImageIO checks its own ImageLimits on the IHDR before calling in here.
    png_set_user_limits(d->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    // No chunk (or inflated zTXt / iTXt / iCCP text) over 64 MB, and at most 1000 ancillary
    // chunks: a small hostile file cannot make libpng allocate gigabytes.
    png_set_chunk_malloc_max(d->png, 64u << 20);
    png_set_chunk_cache_max(d->png, 1000);
    png_read_info(d->png, d->info);

    int colorType = png_get_color_type(d->png, d->info);
    int bitDepth = png_get_bit_depth(d->png, d->info);
    if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d->png);
    if (colorType == PNG_COLOR_TYPE_GRAY && bitDepth < 8) png_set_expand_gray_1_2_4_to_8(d->png);
    if (png_get_valid(d->png, d->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(d->png);
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);

    info->width = png_get_image_width(d->png, d->info);
    info->height = png_get_image_height(d->png, d->info);
    info->channels = png_get_channels(d->png, d->info);
    info->sourceBitDepth = bitDepth;
    *decoder = d;
    return PANE_PNG_OK;
}

PanePNGStatus pane_png_decoder_read(PanePNGDecoder *decoder, uint8_t *pixels, size_t capacity,
                          char *message, size_t messageCapacity) {
    png_uint_32 height = png_get_image_height(decoder->png, decoder->info);
    size_t rowBytes = png_get_rowbytes(decoder->png, decoder->info);
    png_bytep *rows = height <= capacity / (rowBytes ? rowBytes : 1) ? malloc(height * sizeof *rows) : NULL;
    if (rows == NULL) {
        copy_message(message, messageCapacity, "out of memory or output buffer too small");
        return PANE_PNG_FAILED;
    }
    if (setjmp(png_jmpbuf(decoder->png))) {
        free(rows);
        return failure(decoder, message, messageCapacity);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowBytes;
    png_read_image(decoder->png, rows);
    png_read_end(decoder->png, NULL);
    free(rows);

    if (png_get_bit_depth(decoder->png, decoder->info) == 16) {
        // Round to nearest; libpng's png_set_strip_16 would truncate. In place: sample i
        // comes from bytes 2i and 2i + 1, which lie at or after i.
        size_t count = (size_t)height * rowBytes / 2;
        for (size_t i = 0; i < count; i++) {
            uint32_t value = ((uint32_t)pixels[2 * i] << 8) | pixels[2 * i + 1];
            pixels[i] = (uint8_t)((value * 255 + 32767) / 65535);
        }
    }
    return PANE_PNG_OK;
}

void pane_png_decoder_destroy(PanePNGDecoder *decoder) {
    if (decoder == NULL) return;
    if (decoder->png != NULL) png_destroy_read_struct(&decoder->png, decoder->info ? &decoder->info : NULL, NULL);
    free(decoder);
}

// Writing. libpng's writer runs on one thread; a PNG's image data is one zlib stream, but a deflate
// stream can be made of independently compressed pieces when every piece but the last ends with
// a sync flush (an empty stored block: byte-aligned, not final), as pigz does. So bands of rows
// are filtered and deflated on several threads (pane_png_deflate_band) and joined here
// (pane_png_assemble), with the zlib header and the Adler-32 of the whole combined from the bands'.

enum { BAND_CHUNK_ROWS = 32 };

PanePNGStatus pane_png_deflate_band(const uint8_t *pixels, uint32_t width, uint32_t rows, int channels, int last,
                                    uint8_t **output, size_t *outputSize, uint32_t *adler) {
    *output = NULL;
    *outputSize = 0;
    *adler = (uint32_t)adler32(0, Z_NULL, 0);
    if (channels < 1 || channels > 4 || width == 0) return PANE_PNG_FAILED;
    const size_t rowBytes = (size_t)width * (size_t)channels, filteredRow = rowBytes + 1;
    z_stream z;
    memset(&z, 0, sizeof z);
    // Level 1, the Sub filter on every row: over the 24 Kodak images 28 ms an image against 58 ms
    // for level 3 with libpng's adaptive filter choice, for files 3.6% larger in total (Z_RLE and
    // Huffman-only were no faster for their size). Decoding is the codec's latency; the PNG is an
    // interchange file.
    if (deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return PANE_PNG_FAILED;
    // deflateBound covers the data and a final block; a sync flush adds at most 10 bytes more.
    const size_t capacity = deflateBound(&z, (uLong)(filteredRow * rows)) + 16;
    if (capacity > UINT32_MAX) {   // zlib counts output space in 32 bits: the caller makes smaller bands
        deflateEnd(&z);
        return PANE_PNG_FAILED;
    }
    uint8_t *out = malloc(capacity), *filtered = malloc(filteredRow * BAND_CHUNK_ROWS);
    if (out == NULL || filtered == NULL) {
        deflateEnd(&z);
        free(out);
        free(filtered);
        return PANE_PNG_FAILED;
    }
    z.next_out = out;
    z.avail_out = (uInt)capacity;
    int ok = 1;
    for (uint32_t y0 = 0; y0 < rows && ok; y0 += BAND_CHUNK_ROWS) {
        const uint32_t n = rows - y0 < BAND_CHUNK_ROWS ? rows - y0 : BAND_CHUNK_ROWS;
        for (uint32_t r = 0; r < n; r++) {
            const uint8_t *row = pixels + (size_t)(y0 + r) * rowBytes;
            uint8_t *f = filtered + (size_t)r * filteredRow;
            f[0] = 1;   // Sub: each byte minus the byte one pixel to its left
            for (size_t i = 0; i < (size_t)channels; i++) f[1 + i] = row[i];
            for (size_t i = (size_t)channels; i < rowBytes; i++) f[1 + i] = (uint8_t)(row[i] - row[i - channels]);
        }
        const size_t bytes = (size_t)n * filteredRow;
        *adler = (uint32_t)adler32(*adler, filtered, (uInt)bytes);
        z.next_in = filtered;
        z.avail_in = (uInt)bytes;
        const int end = y0 + n >= rows;
        const int flush = end ? (last ? Z_FINISH : Z_SYNC_FLUSH) : Z_NO_FLUSH;
        const int status = deflate(&z, flush);
        // A flush that filled the output would need another call: room must be left over.
        ok = z.avail_in == 0 && z.avail_out > 0 && (status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR)
             && (!end || !last || status == Z_STREAM_END);
    }
    *outputSize = capacity - z.avail_out;
    deflateEnd(&z);
    free(filtered);
    if (!ok) {
        free(out);
        *outputSize = 0;
        return PANE_PNG_FAILED;
    }
    *output = out;
    return PANE_PNG_OK;
}

static uint8_t *put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
    return p + 4;
}

// A chunk's length and type at p; returns where its data goes. finish_chunk appends its CRC.
static uint8_t *begin_chunk(uint8_t *p, const char *type, uint32_t length) {
    p = put32(p, length);
    memcpy(p, type, 4);
    return p + 4;
}

static uint8_t *finish_chunk(uint8_t *typeStart, uint8_t *end) {
    return put32(end, (uint32_t)crc32(crc32(0, Z_NULL, 0), typeStart, (uInt)(end - typeStart)));
}

// Bytes of one IDAT chunk. The format allows up to 2^31 − 1, but libpng refuses a chunk longer
// than both 8,000,000 bytes and the image's raw size plus ~5 bytes a row, which a large noisy image
// can exceed (level 1 stores incompressible data at 5 bytes per ~16 KB block); 1 MiB costs 12
// bytes per MiB.
enum { IDAT_MAX = 1 << 20 };

PanePNGStatus pane_png_assemble(uint32_t width, uint32_t height, int channels, int bands,
                                const uint8_t *const *data, const size_t *sizes, const uint32_t *adlers,
                                const uint32_t *rows, uint8_t **output, size_t *outputSize) {
    static const uint8_t colorTypes[5] = {0, 0, 4, 2, 6};
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    *output = NULL;
    *outputSize = 0;
    if (channels < 1 || channels > 4 || width == 0 || height == 0 || bands < 1) return PANE_PNG_FAILED;
    size_t stream = 2 + 4;   // zlib header, Adler-32
    for (int b = 0; b < bands; b++) stream += sizes[b];
    const size_t idats = (stream + IDAT_MAX - 1) / IDAT_MAX;
    const size_t total = 8 + (12 + 13) + idats * 12 + stream + 12;
    uint8_t *png = malloc(total);
    if (png == NULL) return PANE_PNG_FAILED;
    uint8_t *p = png;
    memcpy(p, signature, 8);
    p += 8;
    uint8_t *type = p + 4, *d = begin_chunk(p, "IHDR", 13);
    d = put32(d, width);
    d = put32(d, height);
    *d++ = 8;                     // bits per sample
    *d++ = colorTypes[channels];
    *d++ = 0;                     // deflate
    *d++ = 0;                     // adaptive filtering (each row says its filter)
    *d++ = 0;                     // not interlaced
    p = finish_chunk(type, d);

    // The zlib stream: header (deflate, 32 KB window, level-1 hint, check bits), bands, Adler-32,
    // cut into IDAT chunks.
    uint32_t adler = (uint32_t)adler32(0, Z_NULL, 0);
    for (int b = 0; b < bands; b++) {
        const z_off_t length = (z_off_t)rows[b] * (z_off_t)((size_t)width * (size_t)channels + 1);
        adler = (uint32_t)adler32_combine(adler, adlers[b], length);
    }
    uint8_t trailer[4];
    put32(trailer, adler);
    const uint8_t header[2] = {0x78, 0x01};
    int piece = -2;               // −2: header, 0..bands−1: bands, bands: trailer
    size_t used = 0;              // bytes of the current piece already copied
    size_t left = stream;
    while (left > 0) {
        const uint32_t length = (uint32_t)(left < IDAT_MAX ? left : IDAT_MAX);
        type = p + 4;
        d = begin_chunk(p, "IDAT", length);
        size_t room = length;
        while (room > 0) {
            const uint8_t *src = piece == -2 ? header : piece == bands ? trailer : data[piece];
            const size_t size = piece == -2 ? 2 : piece == bands ? 4 : sizes[piece];
            const size_t n = size - used < room ? size - used : room;
            memcpy(d, src + used, n);
            d += n;
            room -= n;
            used += n;
            if (used == size) {
                piece = piece == -2 ? 0 : piece + 1;
                used = 0;
            }
        }
        p = finish_chunk(type, d);
        left -= length;
    }
    type = p + 4;
    p = finish_chunk(type, begin_chunk(p, "IEND", 0));
    *output = png;
    *outputSize = (size_t)(p - png);
    return PANE_PNG_OK;
}

void pane_png_free(void *pointer) {
    free(pointer);
}
