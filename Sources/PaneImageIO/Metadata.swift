import CZlib

/// What an image file says about its pixels besides the pixels: the colour profile, EXIF and
/// XMP, each the bytes as stored (EXIF as the TIFF structure from its byte-order mark, as PNG's
/// eXIf holds it; XMP as the UTF-8 packet). Read from PNG (`iCCP`, `eXIf`, `iTXt`
/// "XML:com.adobe.xmp") and JPEG (APP2 ICC_PROFILE in any number of segments, APP1 Exif, APP1
/// XMP), written back into both.
public struct ImageMetadata: Equatable, Sendable {
    public var icc: [UInt8]?
    public var exif: [UInt8]?
    public var xmp: [UInt8]?

    public init(icc: [UInt8]? = nil, exif: [UInt8]? = nil, xmp: [UInt8]? = nil) {
        self.icc = icc
        self.exif = exif
        self.xmp = xmp
    }

    public var isEmpty: Bool { icc == nil && exif == nil && xmp == nil }

    /// Largest blob kept (the `.pane` format's limit); larger ones are dropped when read.
    public static let maxBlobBytes = 16 << 20

    /// Names of the blobs present, e.g. "ICC 3144 bytes, EXIF 120 bytes".
    public var summary: String {
        [("ICC", icc), ("EXIF", exif), ("XMP", xmp)].compactMap { name, blob in blob.map { "\(name) \($0.count) bytes" } }
            .joined(separator: ", ")
    }
}

// MARK: - Reading

enum MetadataReader {
    /// The metadata chunks of a PNG (walked directly, CRCs not needed: libpng checks the file).
    /// Malformed or oversized metadata chunks are skipped, never an error: the pixels decide.
    static func png(_ bytes: UnsafeRawBufferPointer) -> ImageMetadata { pngChunks(bytes).metadata }

    /// The metadata, and whether an `acTL` chunk makes it an animated PNG.
    static func pngChunks(_ bytes: UnsafeRawBufferPointer) -> (metadata: ImageMetadata, animated: Bool) {
        var metadata = ImageMetadata()
        var animated = false
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bigEndianUInt32(bytes, at: offset))
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let start = offset + 8
            guard length <= bytes.count - start - 4 else { break }
            let data = bytes[start..<start + length]
            switch type {
            case "iCCP" where metadata.icc == nil:
                // profile name (1–79 bytes), NUL, compression method 0, zlib stream
                if let nul = data.firstIndex(of: 0), nul + 1 < data.endIndex, data[nul + 1] == 0 {
                    metadata.icc = inflate(Array(data[(nul + 2)...]))
                }
            case "eXIf" where metadata.exif == nil:
                if length <= ImageMetadata.maxBlobBytes { metadata.exif = Array(data) }
            case "iTXt" where metadata.xmp == nil:
                metadata.xmp = xmpText(Array(data))
            case "acTL":
                animated = true
            case "IEND":
                return (metadata, animated)
            default:
                break
            }
            offset = start + length + 4
        }
        return (metadata, animated)
    }

    /// The keyword "XML:com.adobe.xmp" of an iTXt chunk, its text inflated if compressed.
    private static func xmpText(_ chunk: [UInt8]) -> [UInt8]? {
        let keyword = Array("XML:com.adobe.xmp".utf8)
        guard chunk.starts(with: keyword + [0]), chunk.count >= keyword.count + 3 else { return nil }
        var i = keyword.count + 1
        let compressed = chunk[i] == 1
        i += 2  // compression flag and method
        for _ in 0..<2 {  // language tag and translated keyword, each NUL-terminated
            guard let nul = chunk[i...].firstIndex(of: 0) else { return nil }
            i = nul + 1
        }
        let text = Array(chunk[i...])
        return compressed ? inflate(text) : (text.count <= ImageMetadata.maxBlobBytes ? text : nil)
    }

    /// The APP segments of a JPEG up to the first scan.
    static func jpeg(_ bytes: UnsafeRawBufferPointer) -> ImageMetadata {
        var metadata = ImageMetadata()
        var iccParts: [Int: [UInt8]] = [:]
        var iccCount = 0
        var offset = 2
        let exifMagic = Array("Exif".utf8) + [0, 0]
        let xmpMagic = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0]
        let iccMagic = Array("ICC_PROFILE".utf8) + [0]
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan, end of image
            if (0xD0...0xD8).contains(marker) || marker == 0x01 { offset += 2; continue }  // no length
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { break }
            let data = Array(bytes[offset + 4..<offset + 2 + length])
            if marker == 0xE1, data.starts(with: exifMagic), metadata.exif == nil {
                metadata.exif = Array(data[exifMagic.count...])
            } else if marker == 0xE1, data.starts(with: xmpMagic), metadata.xmp == nil {
                metadata.xmp = Array(data[xmpMagic.count...])
            } else if marker == 0xE2, data.starts(with: iccMagic), data.count >= iccMagic.count + 2 {
                let sequence = Int(data[iccMagic.count]), count = Int(data[iccMagic.count + 1])
                if sequence >= 1, sequence <= count, iccCount == 0 || iccCount == count, iccParts[sequence] == nil {
                    iccCount = count
                    iccParts[sequence] = Array(data[(iccMagic.count + 2)...])
                }
            }
            offset += 2 + length
        }
        if iccCount > 0, iccParts.count == iccCount {
            let profile = (1...iccCount).flatMap { iccParts[$0]! }
            if profile.count <= ImageMetadata.maxBlobBytes { metadata.icc = profile }
        }
        return metadata
    }

    /// A zlib stream's bytes, nil when invalid or larger than `ImageMetadata.maxBlobBytes`.
    static func inflate(_ data: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        return data.withUnsafeBufferPointer { input -> [UInt8]? in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, out.count - Int(stream.avail_out))
                }
                output += chunk[..<produced]
                guard output.count <= ImageMetadata.maxBlobBytes else { return nil }
                if status == Z_STREAM_END { return output }
                guard status == Z_OK, produced > 0 || stream.avail_in > 0 else { return nil }
            }
        }
    }
}

// MARK: - Writing

enum MetadataWriter {
    /// `png` (as PNGCodec writes it: signature, IHDR first) with iCCP, eXIf and iTXt chunks after IHDR.
    static func png(_ png: [UInt8], _ metadata: ImageMetadata) -> [UInt8] {
        guard !metadata.isEmpty else { return png }
        var chunks: [UInt8] = []
        if let icc = metadata.icc { chunks += chunk("iCCP", Array("ICC Profile".utf8) + [0, 0] + deflate(icc)) }
        if let exif = metadata.exif { chunks += chunk("eXIf", exif) }
        if let xmp = metadata.xmp { chunks += chunk("iTXt", Array("XML:com.adobe.xmp".utf8) + [0, 0, 0, 0, 0] + xmp) }
        let afterHeader = 8 + 25  // signature, IHDR (4 length + 4 type + 13 data + 4 CRC)
        return Array(png[..<afterHeader]) + chunks + Array(png[afterHeader...])
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        let crc = UInt32(typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc)
    }

    /// `jpeg` (SOI, then libjpeg's JFIF APP0) with APP1 Exif, APP1 XMP and APP2 ICC segments after
    /// the APP0. Returns the blobs that do not fit a JPEG segment too (EXIF over 65,527 bytes,
    /// XMP over 65,502: extended XMP is not written).
    static func jpeg(_ jpeg: [UInt8], _ metadata: ImageMetadata) -> (bytes: [UInt8], dropped: [String]) {
        guard !metadata.isEmpty else { return (jpeg, []) }
        var segments: [UInt8] = [], dropped: [String] = []
        let limit = 65_533  // segment data after the two length bytes
        if let exif = metadata.exif {
            let data = Array("Exif".utf8) + [0, 0] + exif
            if data.count <= limit { segments += segment(0xE1, data) } else { dropped.append("EXIF") }
        }
        if let xmp = metadata.xmp {
            let data = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0] + xmp
            if data.count <= limit { segments += segment(0xE1, data) } else { dropped.append("XMP") }
        }
        if let icc = metadata.icc {
            let magic = Array("ICC_PROFILE".utf8) + [0]
            let part = limit - magic.count - 2
            let count = (icc.count + part - 1) / part
            if count <= 255 {
                for i in 0..<count {
                    let piece = icc[(i * part)..<min(icc.count, (i + 1) * part)]
                    segments += segment(0xE2, magic + [UInt8(i + 1), UInt8(count)] + piece)
                }
            } else {
                dropped.append("ICC")
            }
        }
        var at = 2
        if jpeg.count > 6, jpeg[2] == 0xFF, jpeg[3] == 0xE0 { at = 4 + (Int(jpeg[4]) << 8 | Int(jpeg[5])) }
        return (Array(jpeg[..<at]) + segments + Array(jpeg[at...]), dropped)
    }

    private static func segment(_ marker: UInt8, _ data: [UInt8]) -> [UInt8] {
        let length = data.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + data
    }

    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var capacity = compressBound(uLong(data.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = output.withUnsafeMutableBufferPointer { out in
            data.withUnsafeBufferPointer { compress2(out.baseAddress, &capacity, $0.baseAddress, uLong($0.count), 9) }
        }
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")
        return Array(output[..<Int(capacity)])
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
}

// MARK: - EXIF orientation

/// The orientation tag (0x0112) of IFD0 in EXIF's TIFF structure.
public enum EXIFOrientation {
    /// 1…8, or nil when the EXIF has no (valid) orientation.
    public static func value(in exif: [UInt8]) -> Int? {
        guard let at = location(in: exif) else { return nil }
        let v = read16(exif, at, bigEndian: exif[0] == 0x4D)
        return (1...8).contains(v) ? v : nil
    }

    /// `exif` with its orientation set to 1 (top-left); unchanged when it has no orientation tag.
    public static func settingTopLeft(_ exif: [UInt8]) -> [UInt8] {
        guard let at = location(in: exif) else { return exif }
        var out = exif
        if exif[0] == 0x4D { out[at] = 0; out[at + 1] = 1 } else { out[at] = 1; out[at + 1] = 0 }
        return out
    }

    /// Byte offset of the orientation value (a SHORT) in IFD0, nil when absent or malformed.
    private static func location(in exif: [UInt8]) -> Int? {
        guard exif.count >= 8 else { return nil }
        let big: Bool
        switch (exif[0], exif[1]) {
        case (0x49, 0x49): big = false
        case (0x4D, 0x4D): big = true
        default: return nil
        }
        guard read16(exif, 2, bigEndian: big) == 42 else { return nil }
        let ifd = read32(exif, 4, bigEndian: big)
        guard ifd >= 8, ifd + 2 <= exif.count else { return nil }
        let count = read16(exif, ifd, bigEndian: big)
        for i in 0..<count {
            let entry = ifd + 2 + 12 * i
            guard entry + 12 <= exif.count else { return nil }
            if read16(exif, entry, bigEndian: big) == 0x0112, read16(exif, entry + 2, bigEndian: big) == 3,
               read32(exif, entry + 4, bigEndian: big) == 1 {
                return entry + 8
            }
        }
        return nil
    }

    private static func read16(_ b: [UInt8], _ at: Int, bigEndian: Bool) -> Int {
        bigEndian ? Int(b[at]) << 8 | Int(b[at + 1]) : Int(b[at + 1]) << 8 | Int(b[at])
    }

    private static func read32(_ b: [UInt8], _ at: Int, bigEndian: Bool) -> Int {
        bigEndian ? (read16(b, at, bigEndian: true) << 16 | read16(b, at + 2, bigEndian: true))
            : (read16(b, at + 2, bigEndian: false) << 16 | read16(b, at, bigEndian: false))
    }
}

extension Image {
    /// The image as a viewer shows it under EXIF orientation `orientation` (1…8): flipped and/or
    /// rotated so that the result is upright (orientation 1). Alpha follows the pixels.
    public func applyingOrientation(_ orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let transposed = orientation >= 5
        let w = transposed ? height : width, h = transposed ? width : height
        // For each displayed (x, y): the stored pixel it shows.
        func source(_ x: Int, _ y: Int) -> Int {
            let (sx, sy): (Int, Int)
            switch orientation {
            case 2: (sx, sy) = (width - 1 - x, y)
            case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
            case 4: (sx, sy) = (x, height - 1 - y)
            case 5: (sx, sy) = (y, x)
            case 6: (sx, sy) = (y, height - 1 - x)
            case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
            default: (sx, sy) = (width - 1 - y, x)  // 8
            }
            return sy * width + sx
        }
        var out = [UInt8](repeating: 0, count: pixels.count)
        var outAlpha = alpha.map { [UInt8](repeating: 0, count: $0.count) }
        for y in 0..<h {
            for x in 0..<w {
                let from = source(x, y), to = y * w + x
                for c in 0..<channels { out[to * channels + c] = pixels[from * channels + c] }
                if let alpha { outAlpha![to] = alpha[from] }
            }
        }
        var result = Image(width: w, height: h, channels: channels, pixels: out, alpha: outAlpha)
        result.metadata = metadata
        return result
    }
}
