import Foundation

/// The file formats PaneImageIO reads and writes.
public enum ImageFormat: String, Sendable, CustomStringConvertible {
    case png = "PNG"
    case jpeg = "JPEG"

    /// Recognises a format by its signature, never by a file name:
    /// PNG by its 8-byte signature, JPEG by FF D8 FF. Nil for anything else.
    public init?(sniffing bytes: some ContiguousBytes) {
        guard let format = bytes.withUnsafeBytes({ Self.sniff($0) }) else { return nil }
        self = format
    }

    public var description: String { rawValue }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.starts(with: jpegSignature) { return .jpeg }
        return nil
    }
}

/// How `Image.encoded(as:)` and `Image.write(toFile:as:)` store an image.
public enum ImageEncoding: Equatable, Sendable {
    /// 8-bit PNG: gray, gray+alpha, RGB or RGBA after the image's layout. Lossless.
    case png
    /// Baseline or progressive JPEG; refuses images with alpha.
    case jpeg(JPEGOptions)
}

/// Settings of a JPEG encode (libjpeg's meaning for each).
public struct JPEGOptions: Equatable, Sendable {
    /// Chroma resolution of an RGB encode; gray images have no chroma.
    public enum Subsampling: Sendable {
        /// Chroma halved both ways (libjpeg's default).
        case yuv420
        /// Chroma halved horizontally.
        case yuv422
        /// Full-resolution chroma.
        case yuv444
    }

    /// libjpeg quality, 1...100 (values outside are clamped).
    public var quality: Int
    public var subsampling: Subsampling
    /// Compute optimal Huffman tables: a smaller file for a slower encode.
    public var optimizeCoding: Bool
    /// Write a progressive JPEG with libjpeg's default scan script.
    public var progressive: Bool

    public init(quality: Int = 90, subsampling: Subsampling = .yuv420, optimizeCoding: Bool = false,
                progressive: Bool = false) {
        self.quality = quality
        self.subsampling = subsampling
        self.optimizeCoding = optimizeCoding
        self.progressive = progressive
    }
}
