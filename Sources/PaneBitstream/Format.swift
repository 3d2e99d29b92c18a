/// # The `.pane` container, format version 1
///
/// This comment is the single source of truth for the format. `Training/bitstream.py`
/// repeats it in its docstring and writes byte-identical files. The container only packs
/// bytes: it knows nothing of the networks that fill the streams.
///
/// All integers are unsigned and little-endian. CRC-32 is the IEEE 802.3 one (zlib's
/// `crc32`; crc32("123456789") = 0xCBF43926).
///
/// ## Header: 32 bytes
///
/// | offset | size | field              | values                                               |
/// |-------:|-----:|--------------------|------------------------------------------------------|
/// |      0 |    4 | magic              | "PANE"                                               |
/// |      4 |    1 | format version     | 1                                                    |
/// |      5 |    8 | model id           | first 8 bytes of the sha256 of the model file        |
/// |     13 |    4 | width              | pixels, 1…2^20                                       |
/// |     17 |    4 | height             | pixels, 1…2^20                                       |
/// |     21 |    1 | colour layout      | 0 = RGB, 1 = gray                                    |
/// |     22 |    1 | has alpha          | 0 or 1                                               |
/// |     23 |    2 | quality            | quality × 100 rounded half away from zero, 0…10000   |
/// |     25 |    2 | tile size          | 0 = one tile covering the image; else pixels, a multiple of 64 |
/// |     27 |    1 | latent slice count | 1…16                                                 |
/// |     28 |    4 | header CRC         | CRC-32 of bytes 0..<28                               |
///
/// The magic and the version byte (the preamble) open every version of the format, so any
/// reader can tell a newer file from a broken one.
///
/// ## Tiles
///
/// With tile size T > 0 the image is cut into ceil(width / T) columns × ceil(height / T) rows
/// of tiles, numbered row-major from the top left (index = row × columns + column); tiles on
/// the right and bottom edges may be smaller. With T = 0 there is one tile, index 0.
///
/// ## Sections: after the header, until the end of the file
///
/// | size | field                                                        |
/// |-----:|--------------------------------------------------------------|
/// |    1 | type: 1 = z stream, 2 = y stream, 3 = alpha plane            |
/// |    4 | tile index (0 for the alpha plane)                           |
/// |    1 | slice index (y streams; 0 for the other types)               |
/// |    4 | payload length L                                             |
/// |    L | payload                                                      |
/// |    4 | CRC-32 of the section from its type byte to its payload's end (10 + L bytes) |
///
/// A file holds exactly these sections, in this order:
///
/// 1. for each tile t in 0..<tileCount: z (tile t), then y (tile t, slice s) for s in 0..<sliceCount;
/// 2. iff has alpha: alpha, whose payload is the width × height alpha bytes, row-major,
///    compressed with zlib (RFC 1950) at level 9 with the default window (15 bits), memory
///    level (8) and strategy, as Python's `zlib.compress(plane, 9)` does.
///
/// ## Reading
///
/// A reader checks, in this order: the magic (`notPane`; a file shorter than the magic that
/// starts like it is `truncated`), the version (`newerVersion` above 1, `invalidHeader` for
/// 0), the header CRC (`corrupt`), the header values (`invalidHeader`), the model id
/// (`unknownModel`, when the caller names the models it has), then each section in file
/// order: CRC (`corrupt`), type, tile and slice in range (`corrupt`), an earlier section again
/// (`corrupt`, duplicate), a later section than the next expected one (`missingSection`, which
/// also covers sections out of order). A file that ends before its last section, anywhere, is
/// `truncated`; bytes after the last section are `corrupt`. Unknown section types are an
/// error in version 1.
enum Format {
    static let magic: [UInt8] = Array("PANE".utf8)
    static let version: UInt8 = 1
    /// Bytes of a version-1 header, CRC included; pinned by a test.
    static let headerSize = 32
    /// Bytes a section adds around its payload (10 before, the CRC after).
    static let sectionOverhead = 14
    static let modelIDSize = 8
    static let maxDimension = 1 << 20
    static let maxQualityHundredths = 10_000
    static let tileSizeStep = 64
    static let sliceCounts = 1...16
}

/// Walks the fields of a record in file order to read, write or measure them, so one
/// description serves every direction (libjxl's `VisitFields`).
protocol FieldVisitor {
    associatedtype Failure: Error
    mutating func visit<T: FixedWidthInteger & UnsignedInteger>(_ value: inout T) throws(Failure)
    mutating func visit(_ value: inout [UInt8], count: Int) throws(Failure)
}

/// The fields every format version starts with.
struct Preamble {
    var magic: [UInt8] = Format.magic
    var version: UInt8 = Format.version

    mutating func visitFields<V: FieldVisitor>(_ visitor: inout V) throws(V.Failure) {
        try visitor.visit(&magic, count: Format.magic.count)
        try visitor.visit(&version)
    }
}

/// The version-1 header fields after the preamble, as stored; the header CRC follows them.
struct HeaderFields: Equatable {
    var modelID = [UInt8](repeating: 0, count: Format.modelIDSize)
    var width: UInt32 = 0
    var height: UInt32 = 0
    var colorLayout: UInt8 = 0
    var hasAlpha: UInt8 = 0
    var qualityHundredths: UInt16 = 0
    var tileSize: UInt16 = 0
    var sliceCount: UInt8 = 0

    mutating func visitFields<V: FieldVisitor>(_ visitor: inout V) throws(V.Failure) {
        try visitor.visit(&modelID, count: Format.modelIDSize)
        try visitor.visit(&width)
        try visitor.visit(&height)
        try visitor.visit(&colorLayout)
        try visitor.visit(&hasAlpha)
        try visitor.visit(&qualityHundredths)
        try visitor.visit(&tileSize)
        try visitor.visit(&sliceCount)
    }
}

/// The fields before a section's payload; the payload and the section CRC follow them.
struct SectionFrame {
    var kind: UInt8 = 0
    var tile: UInt32 = 0
    var slice: UInt8 = 0
    var length: UInt32 = 0

    mutating func visitFields<V: FieldVisitor>(_ visitor: inout V) throws(V.Failure) {
        try visitor.visit(&kind)
        try visitor.visit(&tile)
        try visitor.visit(&slice)
        try visitor.visit(&length)
    }
}
