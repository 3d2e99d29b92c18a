import CPaneJPEGShim
import Foundation

/// JPEG through libjpeg(-turbo), by way of the setjmp shim in CPaneJPEGShim.
enum JPEGCodec {
    /// REQUIRES: `bytes` starts with the JPEG signature.
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ImageLimits) throws -> Image {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var decoder: OpaquePointer?
        var info = PaneJPEGInfo()
        let opened = callShim { pane_jpeg_decoder_create(base, bytes.count, &decoder, &info, $0, $1) }
        guard opened.status == PANE_JPEG_OK, let decoder else { throw error(opened) }
        defer { pane_jpeg_decoder_destroy(decoder) }

        // jpeg_read_header has parsed only the markers; no pixel memory exists yet.
        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        try limits.check(width: width, height: height)
        let count = width * height * channels
        var result = (status: PANE_JPEG_OK, message: "")
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            result = callShim { pane_jpeg_decoder_read(decoder, buffer.baseAddress, count, $0, $1) }
            initialized = result.status == PANE_JPEG_OK ? count : 0
        }
        guard result.status == PANE_JPEG_OK else { throw error(result) }
        return Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    static func encode(_ image: Image, options: JPEGOptions) throws -> Data {
        guard image.alpha == nil else {
            throw ImageIOError.unsupported("JPEG cannot store alpha; write PNG or drop the alpha plane")
        }
        let maxDimension = Int(PANE_JPEG_MAX_DIMENSION)
        guard image.width <= maxDimension, image.height <= maxDimension else {
            throw ImageIOError.unsupported("JPEG is limited to \(maxDimension) pixels per side")
        }
        var settings = PaneJPEGEncodeOptions()
        settings.quality = Int32(clamping: min(max(options.quality, 1), 100))
        settings.subsampling = switch options.subsampling {
        case .yuv420: PANE_JPEG_SUBSAMPLING_420
        case .yuv422: PANE_JPEG_SUBSAMPLING_422
        case .yuv444: PANE_JPEG_SUBSAMPLING_444
        }
        settings.optimizeCoding = options.optimizeCoding ? 1 : 0
        settings.progressive = options.progressive ? 1 : 0
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let result = callShim { message, capacity in
            pane_jpeg_encode(image.pixels, UInt32(image.width), UInt32(image.height), Int32(image.channels),
                             &settings, &output, &size, message, capacity)
        }
        guard result.status == PANE_JPEG_OK, let output else { throw error(result) }
        return Data(bytesNoCopy: output, count: size, deallocator: .custom { pointer, _ in pane_jpeg_free(pointer) })
    }

    private static func error(_ result: (status: PaneJPEGStatus, message: String)) -> ImageIOError {
        switch result.status {
        case PANE_JPEG_TRUNCATED: return .truncated(.jpeg)
        case PANE_JPEG_CORRUPT: return .corrupt(.jpeg, reason: result.message)
        case PANE_JPEG_UNSUPPORTED: return .unsupported(result.message)
        default: return .failed(.jpeg, reason: result.message)
        }
    }
}
