/// One length-prefixed, CRC-checked chunk of a `.pane` file.
public struct Section: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// The hyperprior stream of a tile.
        case z = 1
        /// One latent slice stream of a tile.
        case y = 2
        /// The zlib-compressed alpha plane (see `AlphaCodec`); tile and slice are 0.
        case alpha = 3
        /// A tile's colour samples, exactly (see `LosslessCodec`), in place of its z and y (version 2).
        case lossless = 4
        /// An ICC profile, EXIF or XMP blob, zlib-compressed; slice is its `MetadataKind` (version 2).
        case metadata = 5
    }

    /// What a metadata section holds (its slice byte).
    public enum MetadataKind: Int, Sendable, CaseIterable {
        case icc = 1
        case exif = 2
        case xmp = 3
    }

    public var kind: Kind
    /// Tile index, row-major (see `PaneHeader.tileCount`); 0 for alpha and metadata.
    public var tile: Int
    /// Slice index for y streams, the `MetadataKind` for metadata; 0 for the other kinds.
    public var slice: Int
    public var payload: [UInt8]

    public init(kind: Kind, tile: Int = 0, slice: Int = 0, payload: [UInt8]) {
        self.kind = kind
        self.tile = tile
        self.slice = slice
        self.payload = payload
    }
}

/// A whole `.pane` file: the header and its sections, in file order.
public struct PaneFile: Equatable, Sendable {
    public var header: PaneHeader
    /// In the order `Format.swift` requires: metadata, then per tile its z and y slices (or its
    /// lossless section), then alpha.
    public var sections: [Section]

    public init(header: PaneHeader, sections: [Section]) {
        self.header = header
        self.sections = sections
    }

    /// The file's bytes. Sections are written in the order given; readers refuse a file whose
    /// sections are not exactly the ones the header implies, in order.
    /// REQUIRES: every value fits its field (model id of 8 bytes, sizes within UInt32, payloads
    /// under 4 GiB); a violation is a writer bug and traps.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter()
        header.write(to: &writer)
        precondition(header.formatVersion >= 2 || sections.allSatisfy { $0.kind.rawValue <= 3 },
                     "a version-1 file holds no lossless or metadata sections")
        for section in sections {
            let start = writer.bytes.count
            var frame = SectionFrame(kind: section.kind.rawValue, tile: UInt32(section.tile),
                                     slice: UInt8(section.slice), length: UInt32(section.payload.count))
            frame.visitFields(&writer)
            writer.append(section.payload)
            writer.appendCRC(from: start)
        }
        return writer.bytes
    }

    /// Parses and checks a whole file (see "Reading" in `Format.swift`).
    /// - Parameter expectedModelIDs: the model ids the caller can decode with; when given, a file
    ///   made with another model throws `.unknownModel`.
    /// - Throws: `BitstreamError`; never traps, and allocates no more than the input's size.
    public init(parsing bytes: [UInt8], expectedModelIDs: [[UInt8]]? = nil) throws {
        try self.init(checking: bytes, expectedModelIDs: expectedModelIDs)
    }

    private init(checking bytes: [UInt8], expectedModelIDs: [[UInt8]]?) throws(BitstreamError) {
        var reader = ByteReader(bytes)
        let header = try PaneHeader.read(from: &reader)
        if let expectedModelIDs, !expectedModelIDs.contains(header.modelID) {
            throw .unknownModel(id: header.modelIDHex)
        }
        var order = SectionOrder(header)
        var sections: [Section] = []
        while !reader.isAtEnd {
            let section: Section
            if !order.isComplete {
                section = try Self.readSection(from: &reader, version: header.formatVersion)
            } else {
                // Past the last section: a whole extra section is named below, anything else is junk.
                let trailing = reader.remaining
                guard let extra = try? Self.readSection(from: &reader, version: header.formatVersion) else {
                    throw .corrupt("\(trailing) bytes after the last section")
                }
                section = extra
            }
            try order.accept(section)
            sections.append(section)
        }
        guard order.isComplete else { throw .truncated }
        self.init(header: header, sections: sections)
    }

    /// Reads and checks only the header, for `pane info`; sections are not looked at.
    /// - Throws: `BitstreamError` for a header that `init(parsing:)` would refuse.
    public static func peekHeader(_ bytes: [UInt8]) throws -> PaneHeader {
        var reader = ByteReader(bytes)
        return try PaneHeader.read(from: &reader)
    }

    private static func readSection(from reader: inout ByteReader, version: Int) throws(BitstreamError) -> Section {
        let start = reader.offset
        var frame = SectionFrame()
        try frame.visitFields(&reader)
        let payload = try reader.read(count: Int(frame.length))
        let crcEnd = reader.offset
        var stored: UInt32 = 0
        try reader.visit(&stored)
        guard CRC32.checksum(reader.bytes[start..<crcEnd]) == stored else {
            throw .corrupt("section CRC mismatch at byte \(start)")
        }
        guard let kind = Section.Kind(rawValue: frame.kind), version >= 2 || kind.rawValue <= 3 else {
            throw .corrupt("unknown section type \(frame.kind) at byte \(start)")
        }
        return Section(kind: kind, tile: Int(frame.tile), slice: Int(frame.slice), payload: payload)
    }
}

/// The sections a header implies, checked one at a time in file order. Each has a rank:
/// metadata of kind k is k − 1; tile t's z (or its lossless section) is base + t × (1 + slices),
/// with base 3 the metadata ranks, its slice s the rank after that plus s; alpha comes last.
/// Computed, never listed, so a hostile header with 2^28 tiles costs nothing until its sections
/// are actually there.
struct SectionOrder {
    let tileCount: Int
    let sliceCount: Int
    let hasAlpha: Bool
    /// The rank of the next section the file must hold (metadata ranks may be skipped).
    private(set) var next = 0
    /// The tile of the last lossless section, to name a tile coded both ways.
    private var losslessTile = -1
    /// Whether a tile was coded by z and y (the alpha section is needed then).
    private var anyLatentTile = false

    init(_ header: PaneHeader) {
        tileCount = header.tileCount
        sliceCount = header.sliceCount
        hasAlpha = header.hasAlpha
    }

    private static let base = Section.MetadataKind.allCases.count
    private var perTile: Int { 1 + sliceCount }
    private var alphaRank: Int { Self.base + tileCount * perTile }
    /// Whether the file needs an alpha section (`Format.swift`: some tile coded by z and y).
    private var needsAlpha: Bool { hasAlpha && anyLatentTile }
    /// Ranks up to here must all be present.
    private var end: Int { alphaRank + (needsAlpha ? 1 : 0) }
    var isComplete: Bool { next == end }

    /// Takes the next section of the file; throws for a section out of place.
    mutating func accept(_ section: Section) throws(BitstreamError) {
        let rank = try rank(of: section)
        if rank < next {
            let tile = section.tile
            switch section.kind {
            case .z where tile == losslessTile, .y where tile == losslessTile:
                throw .corrupt("tile \(tile) has both a lossless section and \(section.kind) sections")
            case .lossless where tile == losslessTile:
                throw .corrupt("duplicate section lossless (tile \(tile))")
            case .lossless where next <= rank + perTile:
                throw .corrupt("tile \(tile) has both z / y sections and a lossless section")
            case .metadata:
                throw .corrupt("section \(name(ofRank: rank)) is a duplicate or out of order")
            default:
                throw .corrupt("duplicate section \(name(ofRank: rank))")
            }
        }
        // Only metadata (ranks below base) may be left out.
        if rank > next && !(next < Self.base && rank <= Self.base) {
            throw .missingSection(name(ofRank: max(next, Self.base)))
        }
        if section.kind == .alpha && !needsAlpha {
            throw .corrupt("alpha section in a file whose tiles are all lossless (they hold their alpha)")
        }
        if section.kind == .lossless {
            losslessTile = section.tile
            next = rank + perTile
        } else {
            if section.kind == .z { anyLatentTile = true }
            next = rank + 1
        }
    }

    /// The section's place in the file; `.corrupt` when the header has no such section.
    private func rank(of section: Section) throws(BitstreamError) -> Int {
        switch section.kind {
        case .z, .y, .lossless:
            guard section.tile < tileCount else {
                throw .corrupt("section \(section.kind) names tile \(section.tile); the header has \(tileCount) tiles")
            }
            let first = Self.base + section.tile * perTile
            if section.kind != .y {
                guard section.slice == 0 else { throw .corrupt("section \(section.kind) of tile \(section.tile) has slice \(section.slice), not 0") }
                return first
            }
            guard section.slice < sliceCount else {
                throw .corrupt("section y of tile \(section.tile) names slice \(section.slice); the header has \(sliceCount) slices")
            }
            return first + 1 + section.slice
        case .alpha:
            guard hasAlpha else { throw .corrupt("alpha section in a file whose header has no alpha") }
            guard section.tile == 0, section.slice == 0 else {
                throw .corrupt("alpha section has tile \(section.tile) and slice \(section.slice), not 0 and 0")
            }
            return alphaRank
        case .metadata:
            guard section.tile == 0, let kind = Section.MetadataKind(rawValue: section.slice) else {
                throw .corrupt("metadata section has tile \(section.tile) and kind \(section.slice), not 0 and 1…\(Self.base)")
            }
            return kind.rawValue - 1
        }
    }

    /// A readable name for the section at `rank`, e.g. "y (tile 3, slice 1)".
    func name(ofRank rank: Int) -> String {
        if rank < Self.base { return "metadata (\(Section.MetadataKind(rawValue: rank + 1)!))" }
        if rank == alphaRank { return "alpha" }
        let (tile, place) = (rank - Self.base).quotientAndRemainder(dividingBy: perTile)
        return place == 0 ? "z (tile \(tile))" : "y (tile \(tile), slice \(place - 1))"
    }
}
