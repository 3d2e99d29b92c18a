/// What a `.pane` file says about its image, as laid out in `Format.swift`.
public struct PaneHeader: Equatable, Sendable {
    /// How the colour planes are stored.
    public enum ColorLayout: UInt8, Sendable {
        case rgb = 0
        case gray = 1
    }

    /// First 8 bytes of the sha256 of the model file that encoded the image.
    public var modelID: [UInt8]
    /// Image size in pixels, 1…2^20 each.
    public var width: Int
    public var height: Int
    public var colorLayout: ColorLayout
    /// Whether an alpha section follows the colour sections.
    public var hasAlpha: Bool
    /// Encoder quality, 0…100; stored in hundredths (rounded half away from zero).
    public var quality: Double
    /// Tile side in pixels, a multiple of 64; 0 means one tile covering the image.
    public var tileSize: Int
    /// Number of y slice streams per tile, 1…16.
    public var sliceCount: Int
    /// The encoder's effort level 1…9, or 0 when not recorded (informational; always 0 in version 1).
    public var effort: Int
    /// The format version the header is (or is to be) written in: 2, or 1 for files of older pane.
    public var formatVersion: Int

    public init(modelID: [UInt8], width: Int, height: Int, colorLayout: ColorLayout, hasAlpha: Bool,
                quality: Double, tileSize: Int, sliceCount: Int, effort: Int = 0,
                formatVersion: Int = PaneHeader.currentVersion) {
        self.modelID = modelID
        self.width = width
        self.height = height
        self.colorLayout = colorLayout
        self.hasAlpha = hasAlpha
        self.quality = quality
        self.tileSize = tileSize
        self.sliceCount = sliceCount
        self.effort = effort
        self.formatVersion = formatVersion
    }

    /// The format version writers write.
    public static let currentVersion = Int(Format.version)

    /// Bytes of a header of the current version in a file, CRC included.
    public static let encodedSize = Format.headerSize
    /// Bytes of this header in a file (its version's size), CRC included.
    public var size: Int { Format.headerSize(version: formatVersion) }

    /// Tile columns: ceil(width / tileSize), or 1 for a single tile.
    public var tileColumns: Int { tileSize == 0 ? 1 : (width + tileSize - 1) / tileSize }
    /// Tile rows: ceil(height / tileSize), or 1 for a single tile.
    public var tileRows: Int { tileSize == 0 ? 1 : (height + tileSize - 1) / tileSize }
    /// Tiles are numbered row-major: index = row × tileColumns + column.
    public var tileCount: Int { tileColumns * tileRows }

    /// The model id as 16 lowercase hex digits.
    public var modelIDHex: String { hex(modelID) }

    /// The stored fields. REQUIRES: every value fits its field's width (a writer bug otherwise);
    /// values that fit but are out of range are written as given, and readers refuse them.
    var fields: HeaderFields {
        let hundredths = (quality * 100).rounded()
        precondition(hundredths >= 0 && hundredths <= Double(UInt16.max), "quality \(quality) does not fit the header")
        precondition((1...Int(Format.version)).contains(formatVersion), "format version \(formatVersion) cannot be written")
        precondition(formatVersion >= 2 || effort == 0, "a version-1 header has no effort field")
        return HeaderFields(
            modelID: modelID, width: UInt32(width), height: UInt32(height), colorLayout: colorLayout.rawValue,
            hasAlpha: hasAlpha ? 1 : 0, qualityHundredths: UInt16(hundredths), tileSize: UInt16(tileSize),
            sliceCount: UInt8(sliceCount), effort: UInt8(effort))
    }

    /// The header the stored fields describe; `.invalidHeader` for a value the format does not allow.
    init(validating fields: HeaderFields, version: Int) throws(BitstreamError) {
        let dimensions = 1...UInt32(Format.maxDimension)
        guard dimensions.contains(fields.width), dimensions.contains(fields.height) else {
            throw .invalidHeader("image of \(fields.width) by \(fields.height) pixels: each side must be 1…\(Format.maxDimension)")
        }
        guard let layout = ColorLayout(rawValue: fields.colorLayout) else {
            throw .invalidHeader("colour layout \(fields.colorLayout) is neither 0 (RGB) nor 1 (gray)")
        }
        guard fields.hasAlpha <= 1 else { throw .invalidHeader("has-alpha flag \(fields.hasAlpha) is neither 0 nor 1") }
        guard fields.qualityHundredths <= Format.maxQualityHundredths else {
            throw .invalidHeader("quality \(fields.qualityHundredths) hundredths is over \(Format.maxQualityHundredths)")
        }
        guard fields.tileSize % UInt16(Format.tileSizeStep) == 0 else {
            throw .invalidHeader("tile size \(fields.tileSize) is not a multiple of \(Format.tileSizeStep)")
        }
        guard Format.sliceCounts.contains(Int(fields.sliceCount)) else {
            throw .invalidHeader("slice count \(fields.sliceCount) is outside \(Format.sliceCounts.lowerBound)…\(Format.sliceCounts.upperBound)")
        }
        guard fields.effort <= Format.maxEffort else {
            throw .invalidHeader("effort \(fields.effort) is over \(Format.maxEffort)")
        }
        self.init(modelID: fields.modelID, width: Int(fields.width), height: Int(fields.height), colorLayout: layout,
                  hasAlpha: fields.hasAlpha == 1, quality: Double(fields.qualityHundredths) / 100,
                  tileSize: Int(fields.tileSize), sliceCount: Int(fields.sliceCount), effort: Int(fields.effort),
                  formatVersion: version)
    }

    /// Writes the preamble, the fields and the header CRC.
    func write(to writer: inout ByteWriter) {
        let start = writer.bytes.count
        var stored = fields
        var preamble = Preamble(version: UInt8(formatVersion))
        preamble.visitFields(&writer)
        stored.visitFields(&writer, version: formatVersion)
        writer.appendCRC(from: start)
    }

    /// Reads and checks a header at the reader's start, in the order `Format.swift` gives.
    static func read(from reader: inout ByteReader) throws(BitstreamError) -> PaneHeader {
        guard Format.magic.starts(with: reader.bytes.prefix(Format.magic.count)) else { throw .notPane }
        var preamble = Preamble()
        try preamble.visitFields(&reader)
        guard preamble.version <= Format.version else {
            throw .newerVersion(found: Int(preamble.version), supported: Int(Format.version))
        }
        guard preamble.version > 0 else { throw .invalidHeader("format version 0 does not exist") }
        let version = Int(preamble.version)
        var fields = HeaderFields()
        try fields.visitFields(&reader, version: version)
        let crcEnd = reader.offset
        var stored: UInt32 = 0
        try reader.visit(&stored)
        guard CRC32.checksum(reader.bytes[0..<crcEnd]) == stored else { throw .corrupt("header CRC mismatch") }
        return try PaneHeader(validating: fields, version: version)
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
}
