import Foundation
import Pane
import PaneBitstream
import PaneEntropy
import PaneImageIO
import PaneModel

/// The entry points libFuzzer drives (`Fuzz/run`), one per untrusted-input parser. Each takes
/// arbitrary bytes, must return normally whatever they are (errors are expected outcomes), and
/// traps on a broken invariant, so a crash is always a finding. The same functions replay the
/// committed corpus and regressions in `PaneFuzzTests`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The `.pane` container parser.
    case paneFile = "pane-file"
    /// The whole decoder (parse, rANS, integer entropy model, g_s) on streams whose CRCs and
    /// model id are repaired first, so mutations reach past the checksums. Uses Fuzz/model/tiny.
    case decoder
    /// The rANS decoder on arbitrary bytes and table indexes; what decodes must re-encode to
    /// the same symbols.
    case rans
    /// The PNG reader (limits 2048 px per side, 1 MP); what decodes must survive a PNG round trip.
    case png
    /// The JPEG reader (same limits).
    case jpeg
    /// The model manifest: mutated JSON with the tiny model's weights (digest not checked).
    case manifest
    /// The safetensors parser, and every tensor read out of what parses.
    case safetensors

    /// Largest image the decoder target runs g_s on: bigger headers are skipped, not refused.
    public static let maxDecoderPixels = 96 * 96

    public func run(_ bytes: [UInt8]) {
        switch self {
        case .paneFile:
            _ = try? PaneFile(parsing: bytes)
            _ = try? PaneFile.peekHeader(bytes)
        case .decoder:
            let stream = Self.repaired(bytes, modelID: Tiny.codec.modelID)
            guard let header = try? PaneFile.peekHeader(stream),
                  header.width * header.height <= Self.maxDecoderPixels else { return }
            if let image = try? Tiny.codec.decode(stream) {
                precondition(image.width == header.width && image.height == header.height, "decoded size")
                precondition((image.alpha != nil) == header.hasAlpha && image.isGrayscale == (header.colorLayout == .gray))
            }
        case .rans:
            Self.rans(bytes)
        case .png, .jpeg:
            let limits = ImageLimits(maxDimension: 2048, maxPixels: 1 << 20)
            guard let image = try? Image(decoding: Data(bytes), limits: limits) else { return }
            let again = try! Image(decoding: try! image.encoded(as: .png))
            precondition(again == image, "PNG round trip of a decoded image changed it")
        case .manifest:
            _ = try? PaneNetwork(manifestData: Data(bytes), name: "fuzz.json", checkDigest: false) { _ in Tiny.weights }
        case .safetensors:
            guard let file = try? SafeTensors(bytes: bytes) else { return }
            for name in file.entries.keys.sorted() {
                _ = try? file.floats(name)
                _ = try? file.ints(name)
                _ = try? file.int16s(name)
                _ = try? file.int8s(name)
                _ = try? file.int64s(name)
            }
        }
    }

    /// Bytes 0-1: symbol count (≤ 4096); then one byte per symbol picks its table; the rest is
    /// the stream.
    static func rans(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let tables = Tiny.yTables
        let count = min(4096, Int(bytes[0]) | Int(bytes[1]) << 8)
        let picks = bytes.dropFirst(2).prefix(count)
        let indexes = (0..<count).map { i in
            Int32(picks.isEmpty ? 0 : Int(picks[picks.startIndex + i % picks.count]) % Tiny.yTableCount)
        }
        let stream = Array(bytes.dropFirst(2 + picks.count))
        guard let symbols = try? RANS.decode(stream, indexes: indexes, tables: tables) else { return }
        let encoded = try! RANS.encode(symbols: symbols, indexes: indexes, tables: tables)
        precondition(try! RANS.decode(encoded, indexes: indexes, tables: tables) == symbols, "rANS round trip")
    }

    /// `bytes` with the model id set and every CRC the container format checks recomputed,
    /// as far as the section frames can be followed.
    public static func repaired(_ bytes: [UInt8], modelID: [UInt8]) -> [UInt8] {
        var b = bytes
        // The header is 32 bytes in format version 1, 33 in version 2 (the effort byte).
        let headerSize = b.count > 4 && b[4] == 1 ? 32 : 33
        guard b.count >= headerSize else { return b }
        b.replaceSubrange(5..<13, with: modelID)
        putCRC(&b, of: 0..<(headerSize - 4), at: headerSize - 4)
        var offset = headerSize
        while offset + 10 <= b.count {
            let length = Int(b[offset + 6]) | Int(b[offset + 7]) << 8 | Int(b[offset + 8]) << 16 | Int(b[offset + 9]) << 24
            let end = offset + 10 + length
            guard end + 4 <= b.count else { break }
            putCRC(&b, of: offset..<end, at: end)
            offset = end + 4
        }
        return b
    }

    private static func putCRC(_ b: inout [UInt8], of range: Range<Int>, at offset: Int) {
        let crc = CRC32.checksum(b[range])
        for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: crc >> (8 * i)) }
    }
}

/// The small model the decoder, rANS and manifest targets use (Fuzz/model/tiny.*, made by
/// Fuzz/make_tiny_model.py): every layer type of the real network at a few channels, so one
/// iteration costs microseconds.
public enum Tiny {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/model")
    public static let manifestURL = directory.appendingPathComponent("tiny.json")
    public static let codec = try! Codec(modelURL: manifestURL)
    static let weights = [UInt8](try! Data(contentsOf: directory.appendingPathComponent("tiny.safetensors")))
    static let yTables = try! CDFTables(cdfs: codec.network.yCDF.rows, offsets: codec.network.yCDF.offsets)
    static let yTableCount = codec.network.yCDF.rows.count
}
