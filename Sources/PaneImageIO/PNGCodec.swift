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
        try checkChunkLengths(bytes)
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
        var image = Image(width: width, height: height, interleaved: samples, channels: channels)
        if info.sourceBitDepth == 16 { image.readingNotes.append("16-bit samples reduced to 8 bits") }
        return image
    }

    /// Bands of rows deflated on up to `Image.encodingThreads` threads (at least 64 rows and
    /// 256 KB of samples a band, at most 1 GB), joined into one PNG (pane_png_deflate_band,
    /// pane_png_assemble).
    static func encode(_ image: Image) throws -> Data {
        let (samples, channels) = image.interleavedSamples()
        let width = image.width, height = image.height
        // Bands of at most 1 GB of samples as well (zlib counts a band's output in 32 bits).
        let bands = min(height, max(1, min(Image.encodingThreads, height / 64, samples.count / (1 << 18)),
                                    (samples.count + (1 << 30) - 1) >> 30))
        let rows = (0..<bands).map { UInt32((height * ($0 + 1)) / bands - (height * $0) / bands) }
        var data = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: bands)
        var sizes = [Int](repeating: 0, count: bands), adlers = [UInt32](repeating: 0, count: bands)
        var statuses = [PanePNGStatus](repeating: PANE_PNG_FAILED, count: bands)
        defer { for pointer in data { pane_png_free(pointer) } }
        samples.withUnsafeBufferPointer { pixels in
            data.withUnsafeMutableBufferPointer { data in
                sizes.withUnsafeMutableBufferPointer { sizes in
                    adlers.withUnsafeMutableBufferPointer { adlers in
                        statuses.withUnsafeMutableBufferPointer { statuses in
                            DispatchQueue.concurrentPerform(iterations: bands) { b in
                                let first = (height * b) / bands
                                statuses[b] = pane_png_deflate_band(pixels.baseAddress! + first * width * channels,
                                                                    UInt32(width), rows[b], Int32(channels),
                                                                    b == bands - 1 ? 1 : 0, &data[b], &sizes[b], &adlers[b])
                            }
                        }
                    }
                }
            }
        }
        guard statuses.allSatisfy({ $0 == PANE_PNG_OK }) else { throw ImageIOError.failed(.png, reason: "out of memory") }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = data.map { UnsafePointer($0) }.withUnsafeBufferPointer { pieces in
            pane_png_assemble(UInt32(width), UInt32(height), Int32(channels), Int32(bands), pieces.baseAddress,
                              sizes, adlers, rows, &output, &size)
        }
        guard status == PANE_PNG_OK, let output else { throw ImageIOError.failed(.png, reason: "out of memory") }
        return Data(bytesNoCopy: output, count: size, deallocator: .custom { pointer, _ in pane_png_free(pointer) })
    }

    /// Every chunk's length against the bytes left, before libpng allocates a buffer of that
    /// length: a chunk claiming more than the file holds is `.truncated` at once.
    static func checkChunkLengths(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bigEndianUInt32(bytes, at: offset))
            guard length <= bytes.count - offset - 12 else { throw ImageIOError.truncated(.png) }
            if bytes[offset + 4..<offset + 8].elementsEqual("IEND".utf8) { return }
            offset += 12 + length
        }
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
