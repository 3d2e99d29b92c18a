import Testing
@testable import PaneBitstream

/// The header layout, pinned byte for byte, and every way a header is refused.
@Suite struct HeaderTests {
    /// Also pinned in Training/tests/test_bitstream.py.
    static let golden = PaneHeader(modelID: [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF], width: 1920, height: 1080,
                                   colorLayout: .rgb, hasAlpha: true, quality: 75.5, tileSize: 256, sliceCount: 4, effort: 7)
    static let goldenHex = "50414e45" + "02" + "0123456789abcdef" + "80070000" + "38040000" + "00" + "01" + "7e1d"
        + "0001" + "04" + "07" + "8b46ea50"
    /// The same header as format version 1 wrote it (no effort field).
    static let goldenV1 = PaneHeader(modelID: golden.modelID, width: 1920, height: 1080, colorLayout: .rgb, hasAlpha: true,
                                     quality: 75.5, tileSize: 256, sliceCount: 4, formatVersion: 1)
    static let goldenV1Hex = "50414e45" + "01" + "0123456789abcdef" + "80070000" + "38040000" + "00" + "01" + "7e1d"
        + "0001" + "04" + "796e43b8"

    static func encoded(_ header: PaneHeader) -> [UInt8] {
        PaneFile(header: header, sections: []).serialized()
    }

    /// `bytes` with the header fields changed by `change` and the header CRC recomputed.
    static func withFields(_ bytes: [UInt8], _ change: (inout HeaderFields) -> Void) -> [UInt8] {
        var reader = ByteReader(bytes)
        var preamble = Preamble()
        var fields = HeaderFields()
        try! preamble.visitFields(&reader)
        let version = Int(preamble.version)
        try! fields.visitFields(&reader, version: version)
        change(&fields)
        var writer = ByteWriter()
        preamble.visitFields(&writer)
        fields.visitFields(&writer, version: version)
        writer.appendCRC(from: 0)
        return writer.bytes + bytes[Format.headerSize(version: version)...]
    }

    @Test func crcCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func headerSizeIsPinned() throws {
        var counter = FieldSizeCounter()
        var preamble = Preamble()
        var fields = HeaderFields()
        preamble.visitFields(&counter)
        fields.visitFields(&counter)
        #expect(counter.size + 4 == 33)
        #expect(PaneHeader.encodedSize == 33 && Format.headerSize(version: 2) == 33)
        var v1Counter = FieldSizeCounter()
        preamble.visitFields(&v1Counter)
        fields.visitFields(&v1Counter, version: 1)
        #expect(v1Counter.size + 4 == 32 && Format.headerSize(version: 1) == 32 && Self.goldenV1.size == 32)
        var frame = SectionFrame()
        var frameCounter = FieldSizeCounter()
        frame.visitFields(&frameCounter)
        #expect(frameCounter.size + 4 == Format.sectionOverhead)
        #expect(Format.sectionOverhead == 14)
    }

    @Test func goldenBytes() throws {
        #expect(hex(Self.encoded(Self.golden)) == Self.goldenHex)
        #expect(try PaneFile.peekHeader(bytes(hex: Self.goldenHex)) == Self.golden)
        #expect(hex(Self.encoded(Self.goldenV1)) == Self.goldenV1Hex)
        #expect(try PaneFile.peekHeader(bytes(hex: Self.goldenV1Hex)) == Self.goldenV1)
    }

    @Test func effortOverNineIsRefused() {
        let broken = Self.withFields(Self.encoded(Self.golden)) { $0.effort = 10 }
        #expect(throws: BitstreamError.invalidHeader("effort 10 is over 9")) { try PaneFile.peekHeader(broken) }
    }

    @Test func qualityIsStoredInHundredthsRoundedHalfAwayFromZero() throws {
        var header = Self.golden
        header.quality = 62.125  // × 100 = 6212.5 exactly
        #expect(Self.encoded(header)[23...24] == [0x45, 0x18])  // 6213
        #expect(try PaneFile.peekHeader(Self.encoded(header)).quality == 62.13)
        header.quality = 100
        #expect(try PaneFile.peekHeader(Self.encoded(header)).quality == 100)
    }

    @Test func tileGrid() {
        #expect((Self.golden.tileColumns, Self.golden.tileRows, Self.golden.tileCount) == (8, 5, 40))
        var single = Self.golden
        single.tileSize = 0
        #expect(single.tileCount == 1)
        #expect(Self.golden.modelIDHex == "0123456789abcdef")
    }

    @Test func notPane() {
        var bytes = Self.encoded(Self.golden)
        bytes[0] = UInt8(ascii: "R")
        #expect(throws: BitstreamError.notPane) { try PaneFile(parsing: bytes) }
        #expect(throws: BitstreamError.notPane) { try PaneFile.peekHeader(Array("GIF89a".utf8)) }
        #expect(throws: BitstreamError.notPane) { try PaneFile.peekHeader(Array("PAX".utf8)) }
    }

    @Test func shortPrefixOfTheMagicIsTruncated() {
        for length in 0...4 {
            #expect(throws: BitstreamError.truncated) { try PaneFile.peekHeader(Array("PANE".utf8.prefix(length))) }
        }
    }

    @Test func newerVersionSaysWhatToDo() {
        var bytes = Self.encoded(Self.golden)
        bytes[4] = 3
        #expect(throws: BitstreamError.newerVersion(found: 3, supported: 2)) { try PaneFile(parsing: bytes) }
        #expect(BitstreamError.newerVersion(found: 3, supported: 2).description
            == "written by a newer pane (format 3); this pane reads format 2: upgrade pane")
        bytes[4] = 0
        #expect(throws: BitstreamError.invalidHeader("format version 0 does not exist")) { try PaneFile(parsing: bytes) }
    }

    @Test func everyHeaderByteFlipAfterThePreambleIsACRCError() {
        let bytes = Self.encoded(Self.golden)
        for index in 5..<Format.headerSize {
            var broken = bytes
            broken[index] ^= 0x01
            #expect(throws: BitstreamError.corrupt("header CRC mismatch")) { try PaneFile.peekHeader(broken) }
        }
    }

    @Test func badDimensions() throws {
        let bytes = Self.encoded(Self.golden)
        for (width, height) in [(0, 1080), (1920, 0), ((1 << 20) + 1, 1080), (1920, UInt32.max)] as [(UInt32, UInt32)] {
            let broken = Self.withFields(bytes) { $0.width = width; $0.height = height }
            #expect(throws: BitstreamError.invalidHeader("image of \(width) by \(height) pixels: each side must be 1…1048576")) {
                try PaneFile.peekHeader(broken)
            }
        }
        let largest = Self.withFields(bytes) { $0.width = 1 << 20; $0.height = 1 << 20 }
        #expect(try PaneFile.peekHeader(largest).width == 1 << 20)
    }

    @Test func otherImpossibleHeaderValues() {
        let bytes = Self.encoded(Self.golden)
        let cases: [((inout HeaderFields) -> Void, String)] = [
            ({ $0.colorLayout = 2 }, "colour layout 2 is neither 0 (RGB) nor 1 (gray)"),
            ({ $0.hasAlpha = 255 }, "has-alpha flag 255 is neither 0 nor 1"),
            ({ $0.qualityHundredths = 10_001 }, "quality 10001 hundredths is over 10000"),
            ({ $0.tileSize = 96 }, "tile size 96 is not a multiple of 64"),
            ({ $0.sliceCount = 0 }, "slice count 0 is outside 1…16"),
            ({ $0.sliceCount = 17 }, "slice count 17 is outside 1…16"),
        ]
        for (change, reason) in cases {
            #expect(throws: BitstreamError.invalidHeader(reason)) { try PaneFile.peekHeader(Self.withFields(bytes, change)) }
        }
    }

    @Test func unknownModel() throws {
        let bytes = Self.encoded(Self.golden)
        let other: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]
        #expect(throws: BitstreamError.unknownModel(id: "0123456789abcdef")) {
            try PaneFile(parsing: bytes, expectedModelIDs: [other])
        }
        #expect(throws: BitstreamError.unknownModel(id: "0123456789abcdef")) {
            try PaneFile(parsing: bytes, expectedModelIDs: [])
        }
        // Known model, but the file has no sections.
        #expect(throws: BitstreamError.truncated) { try PaneFile(parsing: bytes, expectedModelIDs: [other, Self.golden.modelID]) }
    }
}
