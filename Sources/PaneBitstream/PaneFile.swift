/// One length-prefixed, CRC-checked chunk of a `.pane` file.
public struct Section: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// The hyperprior stream of a tile.
        case z = 1
        /// One latent slice stream of a tile.
        case y = 2
        /// The zlib-compressed alpha plane (see `AlphaCodec`); tile and slice are 0.
        case alpha = 3
    }

    public var kind: Kind
    /// Tile index, row-major (see `PaneHeader.tileCount`); 0 for alpha.
    public var tile: Int
    /// Slice index for y streams; 0 for the other kinds.
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
    /// In the order `Format.swift` requires: per tile its z then its y slices, then alpha.
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
        let order = SectionOrder(header)
        var sections: [Section] = []
        while !reader.isAtEnd {
            let section: Section
            if sections.count < order.count {
                section = try Self.readSection(from: &reader)
            } else {
                // Past the last section: a whole extra section is named below, anything else is junk.
                let trailing = reader.remaining
                guard let extra = try? Self.readSection(from: &reader) else {
                    throw .corrupt("\(trailing) bytes after the last section")
                }
                section = extra
            }
            let rank = try order.rank(of: section)
            guard rank >= sections.count else { throw .corrupt("duplicate section \(order.name(ofRank: rank))") }
            guard rank == sections.count else { throw .missingSection(order.name(ofRank: sections.count)) }
            sections.append(section)
        }
        guard sections.count == order.count else { throw .truncated }
        self.init(header: header, sections: sections)
    }

    /// Reads and checks only the header, for `pane info`; sections are not looked at.
    /// - Throws: `BitstreamError` for a header that `init(parsing:)` would refuse.
    public static func peekHeader(_ bytes: [UInt8]) throws -> PaneHeader {
        var reader = ByteReader(bytes)
        return try PaneHeader.read(from: &reader)
    }

    private static func readSection(from reader: inout ByteReader) throws(BitstreamError) -> Section {
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
        guard let kind = Section.Kind(rawValue: frame.kind) else {
            throw .corrupt("unknown section type \(frame.kind) at byte \(start)")
        }
        return Section(kind: kind, tile: Int(frame.tile), slice: Int(frame.slice), payload: payload)
    }
}

/// The sections a header implies, numbered in file order: tile t's z is rank t × (1 + slices),
/// its slice s is the rank after that plus s, and alpha comes last. Computed, never listed, so a
/// hostile header with 2^28 tiles costs nothing until its sections are actually there.
struct SectionOrder {
    let tileCount: Int
    let sliceCount: Int
    let hasAlpha: Bool

    init(_ header: PaneHeader) {
        tileCount = header.tileCount
        sliceCount = header.sliceCount
        hasAlpha = header.hasAlpha
    }

    private var perTile: Int { 1 + sliceCount }
    var count: Int { tileCount * perTile + (hasAlpha ? 1 : 0) }

    /// The section's place in the file; `.corrupt` when the header has no such section.
    func rank(of section: Section) throws(BitstreamError) -> Int {
        switch section.kind {
        case .z, .y:
            guard section.tile < tileCount else {
                throw .corrupt("section \(section.kind) names tile \(section.tile); the header has \(tileCount) tiles")
            }
            if section.kind == .z {
                guard section.slice == 0 else { throw .corrupt("section z of tile \(section.tile) has slice \(section.slice), not 0") }
                return section.tile * perTile
            }
            guard section.slice < sliceCount else {
                throw .corrupt("section y of tile \(section.tile) names slice \(section.slice); the header has \(sliceCount) slices")
            }
            return section.tile * perTile + 1 + section.slice
        case .alpha:
            guard hasAlpha else { throw .corrupt("alpha section in a file whose header has no alpha") }
            guard section.tile == 0, section.slice == 0 else {
                throw .corrupt("alpha section has tile \(section.tile) and slice \(section.slice), not 0 and 0")
            }
            return tileCount * perTile
        }
    }

    /// A readable name for the section at `rank`, e.g. "y (tile 3, slice 1)".
    func name(ofRank rank: Int) -> String {
        if rank == tileCount * perTile { return "alpha" }
        let (tile, place) = rank.quotientAndRemainder(dividingBy: perTile)
        return place == 0 ? "z (tile \(tile))" : "y (tile \(tile), slice \(place - 1))"
    }
}
