#include "pane_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// jpeglib.h first: jerror.h's list of codes depends on the library version it defines.
#include <jpeglib.h>
#include <jerror.h>

_Static_assert(PANE_JPEG_MAX_DIMENSION == JPEG_MAX_DIMENSION, "keep pane_jpeg.h in step with jmorecfg.h");

// A progressive JPEG may hold thousands of tiny scans that each cost a pass
// over the whole image (libjpeg-turbo's fuzzers cap scans the same way).
enum { MAX_SCANS = 500 };

typedef struct {
    struct jpeg_error_mgr manager;  // first, so a j_common_ptr's err can be cast to this
    jmp_buf jump;
    PaneJPEGStatus status;
    char message[JMSG_LENGTH_MAX];
} ErrorState;

struct PaneJPEGDecoder {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    ErrorState error;
};

typedef struct {
    struct jpeg_compress_struct cinfo;
    ErrorState error;
    unsigned char *bytes;
    unsigned long size;
} EncoderState;

static void copy_message(char *destination, size_t capacity, const char *text) {
    if (capacity > 0) snprintf(destination, capacity, "%s", text);
}

static void raise_error(j_common_ptr cinfo, PaneJPEGStatus status) {
    ErrorState *error = (ErrorState *)cinfo->err;
    error->status = status;
    cinfo->err->format_message(cinfo, error->message);
    longjmp(error->jump, 1);
}

// Valid JPEGs of a kind this build of libjpeg does not decode (12-bit samples, the lossless and
// hierarchical processes) are "unsupported", not "corrupt".
static void on_error_exit(j_common_ptr cinfo) {
    switch (cinfo->err->msg_code) {
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
        raise_error(cinfo, PANE_JPEG_UNSUPPORTED);
        break;
    default:
        raise_error(cinfo, PANE_JPEG_CORRUPT);
    }
}

// Level -1 is a warning. Those below mean the decoded pixels would be partly
// invented (libjpeg fills gray), which Pane treats as an error; the rest
// (unknown JFIF version, stray bytes before a marker) are harmless.
static void on_message(j_common_ptr cinfo, int level) {
    if (level != -1) return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        raise_error(cinfo, PANE_JPEG_TRUNCATED);
        break;
    case JWRN_ARITH_BAD_CODE:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
        raise_error(cinfo, PANE_JPEG_CORRUPT);
        break;
    default:
        break;
    }
}

static void on_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > MAX_SCANS) {
        ErrorState *error = (ErrorState *)cinfo->err;
        error->status = PANE_JPEG_CORRUPT;
        snprintf(error->message, sizeof error->message, "more than %d scans", MAX_SCANS);
        longjmp(error->jump, 1);
    }
}

static struct jpeg_error_mgr *install_error_handler(ErrorState *error) {
    struct jpeg_error_mgr *manager = jpeg_std_error(&error->manager);
    manager->error_exit = on_error_exit;
    manager->emit_message = on_message;
    error->status = PANE_JPEG_OK;
    return manager;
}

PaneJPEGStatus pane_jpeg_decoder_create(const uint8_t *data, size_t size, PaneJPEGDecoder **decoder, PaneJPEGInfo *info,
                             char *message, size_t messageCapacity) {
    *decoder = NULL;
    PaneJPEGDecoder *d = calloc(1, sizeof *d);
    if (d == NULL) {
        copy_message(message, messageCapacity, "out of memory");
        return PANE_JPEG_FAILED;
    }
    d->cinfo.err = install_error_handler(&d->error);
    if (setjmp(d->error.jump)) {
        PaneJPEGStatus status = d->error.status;
        copy_message(message, messageCapacity, d->error.message);
        pane_jpeg_decoder_destroy(d);
        return status;
    }
    jpeg_create_decompress(&d->cinfo);
    d->progress.progress_monitor = on_progress;
    d->cinfo.progress = &d->progress;
    jpeg_mem_src(&d->cinfo, data, (unsigned long)size);
    jpeg_read_header(&d->cinfo, TRUE);

    J_COLOR_SPACE space = d->cinfo.jpeg_color_space;
    if (space == JCS_CMYK || space == JCS_YCCK || (d->cinfo.num_components != 1 && d->cinfo.num_components != 3)) {
        copy_message(message, messageCapacity,
                     space == JCS_CMYK || space == JCS_YCCK ? "CMYK JPEG" : "JPEG with 2 or more than 3 components");
        pane_jpeg_decoder_destroy(d);
        return PANE_JPEG_UNSUPPORTED;
    }
    d->cinfo.out_color_space = space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    info->width = d->cinfo.image_width;
    info->height = d->cinfo.image_height;
    info->channels = space == JCS_GRAYSCALE ? 1 : 3;
    *decoder = d;
    return PANE_JPEG_OK;
}

PaneJPEGStatus pane_jpeg_decoder_read(PaneJPEGDecoder *decoder, uint8_t *pixels, size_t capacity,
                           char *message, size_t messageCapacity) {
    struct jpeg_decompress_struct *cinfo = &decoder->cinfo;
    if (setjmp(decoder->error.jump)) {
        copy_message(message, messageCapacity, decoder->error.message);
        return decoder->error.status;
    }
    jpeg_start_decompress(cinfo);
    size_t rowBytes = (size_t)cinfo->output_width * cinfo->output_components;
    if (rowBytes == 0 || capacity / rowBytes < cinfo->output_height) {
        copy_message(message, messageCapacity, "output buffer too small");
        return PANE_JPEG_FAILED;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = pixels + (size_t)cinfo->output_scanline * rowBytes;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return PANE_JPEG_OK;
}

void pane_jpeg_decoder_destroy(PaneJPEGDecoder *decoder) {
    if (decoder == NULL) return;
    jpeg_destroy_decompress(&decoder->cinfo);
    free(decoder);
}

PaneJPEGStatus pane_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                     const PaneJPEGEncodeOptions *options, uint8_t **output, size_t *outputSize,
                     char *message, size_t messageCapacity) {
    *output = NULL;
    *outputSize = 0;
    if ((channels != 1 && channels != 3) || width == 0 || height == 0 || width > PANE_JPEG_MAX_DIMENSION ||
        height > PANE_JPEG_MAX_DIMENSION || (unsigned)options->subsampling > PANE_JPEG_SUBSAMPLING_444) {
        copy_message(message, messageCapacity, "invalid JPEG layout");
        return PANE_JPEG_FAILED;
    }
    EncoderState *s = calloc(1, sizeof *s);
    if (s == NULL) {
        copy_message(message, messageCapacity, "out of memory");
        return PANE_JPEG_FAILED;
    }
    s->cinfo.err = install_error_handler(&s->error);
    if (setjmp(s->error.jump)) {
        copy_message(message, messageCapacity, s->error.message);
        jpeg_destroy_compress(&s->cinfo);
        free(s->bytes);
        free(s);
        return PANE_JPEG_FAILED;
    }
    jpeg_create_compress(&s->cinfo);
    jpeg_mem_dest(&s->cinfo, &s->bytes, &s->size);
    s->cinfo.image_width = width;
    s->cinfo.image_height = height;
    s->cinfo.input_components = channels;
    s->cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&s->cinfo);
    jpeg_set_quality(&s->cinfo, options->quality, TRUE);
    if (channels == 3) {
        // jpeg_set_defaults gives luma 2x2 (4:2:0) and chroma 1x1.
        static const int factors[3][2] = {{2, 2}, {2, 1}, {1, 1}};
        s->cinfo.comp_info[0].h_samp_factor = factors[options->subsampling][0];
        s->cinfo.comp_info[0].v_samp_factor = factors[options->subsampling][1];
    }
    s->cinfo.optimize_coding = options->optimizeCoding ? TRUE : FALSE;
    if (options->progressive) jpeg_simple_progression(&s->cinfo);
    jpeg_start_compress(&s->cinfo, TRUE);
    size_t rowBytes = (size_t)width * channels;
    while (s->cinfo.next_scanline < s->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)s->cinfo.next_scanline * rowBytes);
        jpeg_write_scanlines(&s->cinfo, &row, 1);
    }
    jpeg_finish_compress(&s->cinfo);
    jpeg_destroy_compress(&s->cinfo);
    *output = s->bytes;
    *outputSize = s->size;
    free(s);
    return PANE_JPEG_OK;
}

void pane_jpeg_free(void *pointer) {
    free(pointer);
}
