/// # The `.pane` container, format versions 2 and 1
///
/// This comment is the single source of truth for the format. `Training/bitstream.py`
/// repeats it in its docstring and writes byte-identical files. The container only packs
/// bytes: it knows nothing of the networks that fill the streams. Writers write version 2;
/// readers read both (version 1 is what pane wrote until 2026-12-06).
///
/// All integers are unsigned and little-endian. CRC-32 is the IEEE 802.3 one (zlib's
/// `crc32`; crc32("123456789") = 0xCBF43926).
///
/// ## Header: 33 bytes (version 2), 32 bytes (version 1)
///
/// | offset | size | field              | values                                               |
/// |-------:|-----:|--------------------|------------------------------------------------------|
/// |      0 |    4 | magic              | "PANE"                                               |
/// |      4 |    1 | format version     | 2 (or 1)                                             |
/// |      5 |    8 | model id           | the declared id of the model release that encoded it (docs/model-releases.md) |
/// |     13 |    4 | width              | pixels, 1…2^20                                       |
/// |     17 |    4 | height             | pixels, 1…2^20                                       |
/// |     21 |    1 | colour layout      | 0 = RGB, 1 = gray                                    |
/// |     22 |    1 | has alpha          | 0 or 1                                               |
/// |     23 |    2 | quality            | quality × 100 rounded half away from zero, 0…10000   |
/// |     25 |    2 | tile size          | 0 = one tile covering the image; else pixels, a multiple of 64 |
/// |     27 |    1 | latent slice count | 1…16                                                 |
/// |     28 |    1 | effort             | version 2 only: the encoder's effort level 1…9, or 0 = not recorded; informational, decoders ignore it |
/// |  29 (28) |  4 | header CRC         | CRC-32 of the header bytes before it                 |
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
/// |    1 | type: 1 = z stream, 2 = y stream, 3 = alpha plane, 4 = lossless tile, 5 = metadata (4 and 5: version 2 only) |
/// |    4 | tile index (z, y, lossless; 0 for the other types)           |
/// |    1 | slice index (y streams), metadata kind (metadata); 0 for the other types |
/// |    4 | payload length L                                             |
/// |    L | payload                                                      |
/// |    4 | CRC-32 of the section from its type byte to its payload's end (10 + L bytes) |
///
/// A file holds these sections, in this order:
///
/// 1. version 2 only, optional: metadata sections, at most one of each kind, kinds ascending:
///    1 = ICC profile, 2 = EXIF (the TIFF structure, from its byte-order mark, as in PNG's
///    eXIf), 3 = XMP packet (UTF-8). The payload is the blob compressed with zlib (RFC 1950);
///    a blob is at most 16 MiB inflated.
/// 2. for each tile t in 0..<tileCount, either z (tile t), then y (tile t, slice s) for s in
///    0..<sliceCount; or (version 2) one lossless section for tile t, which holds the tile's
///    samples exactly, its alpha included when the header has alpha (payload below);
/// 3. iff has alpha and some tile is coded by z and y: alpha, whose payload is the width × height
///    alpha bytes, row-major, compressed with zlib (RFC 1950) at level 9 with the default window
///    (15 bits), memory level (8) and strategy, as Python's `zlib.compress(plane, 9)` does. Where
///    a tile is lossless, its own alpha is the image's (the plane's bytes there are ignored).
///
/// When synthesizing a tile from its latents, the latents of a lossless neighbour read as zero.
///
/// The file ends with its last required section, so a cut file is always told from a whole one.
///
/// ## Lossless tile payload (version 2)
///
/// One method byte, then its data. Method 0: the tile's rows (tile width × tile height of the
/// unpadded image; C samples per pixel, interleaved: gray or R, G, B, then alpha when the header
/// has alpha, so C is 1, 2, 3 or 4), each as one PNG
/// filter byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth; ISO 15948 §9, with bytes-per-pixel C and
/// the rows above and to the left taken inside the tile only) followed by its filtered bytes,
/// all of it one zlib stream (RFC 1950). Writers choose the filters and the zlib settings;
/// Pane's choose per row the filter of least sum of |signed byte| and level 9, as PNG encoders do.
///
/// ## Reading
///
/// A reader checks, in this order: the magic (`notPane`; a file shorter than the magic that
/// starts like it is `truncated`), the version (`newerVersion` above 2, `invalidHeader` for
/// 0), the header CRC (`corrupt`), the header values (`invalidHeader`), the model id
/// (`unknownModel`, when the caller names the models it has), then each section in file
/// order: CRC (`corrupt`), type (a type the file's version does not have is `corrupt`), tile
/// and slice in range (`corrupt`), an earlier section again (`corrupt`, duplicate; a tile coded
/// both ways is `corrupt`), a later section than the next expected one (`missingSection`, which
/// also covers sections out of order). A file that ends before its last section, anywhere, is
/// `truncated`; bytes after the last section are `corrupt`.
enum Format {
    static let magic: [UInt8] = Array("PANE".utf8)
    /// The version writers write.
    static let version: UInt8 = 2
    /// Bytes of a header of the current version, CRC included; pinned by a test.
    static let headerSize = 33
    /// Bytes of a header of `version`, CRC included.
    static func headerSize(version: Int) -> Int { version == 1 ? 32 : 33 }
    static let maxEffort = 9
    /// Largest inflated metadata blob.
    static let maxMetadataBytes = 16 << 20
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

/// The header fields after the preamble, as stored (`effort` in version 2 only); the header CRC follows them.
struct HeaderFields: Equatable {
    var modelID = [UInt8](repeating: 0, count: Format.modelIDSize)
    var width: UInt32 = 0
    var height: UInt32 = 0
    var colorLayout: UInt8 = 0
    var hasAlpha: UInt8 = 0
    var qualityHundredths: UInt16 = 0
    var tileSize: UInt16 = 0
    var sliceCount: UInt8 = 0
    var effort: UInt8 = 0

    mutating func visitFields<V: FieldVisitor>(_ visitor: inout V, version: Int = Int(Format.version)) throws(V.Failure) {
        try visitor.visit(&modelID, count: Format.modelIDSize)
        try visitor.visit(&width)
        try visitor.visit(&height)
        try visitor.visit(&colorLayout)
        try visitor.visit(&hasAlpha)
        try visitor.visit(&qualityHundredths)
        try visitor.visit(&tileSize)
        try visitor.visit(&sliceCount)
        if version >= 2 { try visitor.visit(&effort) }
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
