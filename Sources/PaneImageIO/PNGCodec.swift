import CPanePNGShim
import Foundation

/// PNG through libpng, by way of the setjmp shim in CPanePNGShim.
enum PNGCodec {
    /// REQUIRES: `bytes` starts with the PNG signature.
    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ImageLimits) throws -> Image {
        // Check the IHDR size before libpng allocates anything for it: signature (8),
        // chunk length (4), "IHDR" (4), then big-endian width and height.
        if bytes.count >= 24, bytes[12..<16].elementsEqual("IHDR".utf8) {
            try limits.check(width: Int(bigEndianUInt32(bytes, at: 16)), height: Int(bigEndianUInt32(bytes, at: 20)))
        }
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var decoder: OpaquePointer?
        var info = PanePNGInfo()
        let opened = callShim { pane_png_decoder_create(base, bytes.count, &decoder, &info, $0, $1) }
        guard opened.status == PANE_PNG_OK, let decoder else { throw error(opened) }
        defer { pane_png_decoder_destroy(decoder) }

        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        try limits.check(width: width, height: height)
        let count = width * height * channels
        // 16-bit rows are read whole and then reduced to 8 bits in place.
        let capacity = info.sourceBitDepth == 16 ? 2 * count : count
        var result = (status: PANE_PNG_OK, message: "")
        let samples = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            result = callShim { pane_png_decoder_read(decoder, buffer.baseAddress, capacity, $0, $1) }
            initialized = result.status == PANE_PNG_OK ? count : 0
        }
        guard result.status == PANE_PNG_OK else { throw error(result) }
        return Image(width: width, height: height, interleaved: samples, channels: channels)
    }

    static func encode(_ image: Image) throws -> Data {
        let (samples, channels) = image.interleavedSamples()
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let result = callShim { message, capacity in
            pane_png_encode(samples, UInt32(image.width), UInt32(image.height), Int32(channels),
                            &output, &size, message, capacity)
        }
        guard result.status == PANE_PNG_OK, let output else { throw error(result) }
        return Data(bytesNoCopy: output, count: size, deallocator: .custom { pointer, _ in pane_png_free(pointer) })
    }

    private static func error(_ result: (status: PanePNGStatus, message: String)) -> ImageIOError {
        switch result.status {
        case PANE_PNG_TRUNCATED: return .truncated(.png)
        case PANE_PNG_CORRUPT: return .corrupt(.png, reason: result.message)
        default: return .failed(.png, reason: result.message)
        }
    }
}

/// REQUIRES: `offset + 4 <= bytes.count`.
func bigEndianUInt32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
}
