import Testing
@testable import PaneBitstream

@Suite struct AlphaCodecTests {
    static func fixturePlane() throws -> (plane: [UInt8], pythonStream: [UInt8]) {
        let description = try #require(try Fixtures.manifest().files["tiled_alpha.pane"])
        let plane = bytes(hex: try #require(description.alpha_plane_hex))
        let stream = bytes(hex: try #require(description.sections.last).payload_hex)
        return (plane, stream)
    }

    /// Both sides use the system zlib 1.2.13 at level 9, so the streams match byte for byte.
    @Test func compressesToTheBytesPythonWrote() throws {
        let (plane, pythonStream) = try Self.fixturePlane()
        #expect(plane.count == 150 * 70)
        #expect(AlphaCodec.compress(plane) == pythonStream)
        #expect(try AlphaCodec.decompress(pythonStream, count: plane.count) == plane)
    }

    @Test func roundTrips() throws {
        var generator = SplitMix64(state: 7)
        for count in [0, 1, 2, 1000, 70_000, 300_000] {
            let plane = (0..<count).map { index in index % 97 < 40 ? UInt8.random(in: 0...255, using: &generator) : 255 }
            #expect(try AlphaCodec.decompress(AlphaCodec.compress(plane), count: count) == plane)
        }
    }

    @Test func wrongSizeIsCorrupt() throws {
        let stream = AlphaCodec.compress([UInt8](repeating: 9, count: 500))
        #expect(throws: BitstreamError.corrupt("alpha plane holds more than the 499 bytes the header implies")) {
            try AlphaCodec.decompress(stream, count: 499)
        }
        #expect(throws: BitstreamError.corrupt("alpha plane holds 500 bytes; the header implies 501")) {
            try AlphaCodec.decompress(stream, count: 501)
        }
    }

    @Test func everyTruncationIsTruncated() throws {
        let (plane, stream) = try Self.fixturePlane()
        for length in 0..<stream.count {
            #expect(throws: BitstreamError.truncated) { try AlphaCodec.decompress(Array(stream[..<length]), count: plane.count) }
        }
    }

    @Test func invalidDataIsCorrupt() throws {
        let (plane, stream) = try Self.fixturePlane()
        #expect(throws: BitstreamError.corrupt("alpha plane: 1 bytes after the zlib stream")) {
            try AlphaCodec.decompress(stream + [0], count: plane.count)
        }
        #expect(throws: BitstreamError.corrupt("alpha plane: invalid block type")) {
            try AlphaCodec.decompress([0x78, 0xDA, 0xFF, 0xFF, 0xFF], count: plane.count)
        }
        #expect(throws: BitstreamError.corrupt("alpha plane: incorrect header check")) {
            try AlphaCodec.decompress([0x78, 0xDB, 0, 0], count: 10)
        }
    }

    /// 64 MB of zeros in about 64 kB, decoded with a small count: only count + 1 bytes are inflated.
    @Test func zlibBombIsStoppedAtTheCount() throws {
        let bomb = AlphaCodec.compress([UInt8](repeating: 0, count: 64 << 20))
        #expect(throws: BitstreamError.corrupt("alpha plane holds more than the 100 bytes the header implies")) {
            try AlphaCodec.decompress(bomb, count: 100)
        }
        #expect(throws: BitstreamError.corrupt("alpha plane of impossible size -1")) { try AlphaCodec.decompress(bomb, count: -1) }
    }

    /// A huge claimed count allocates only what the stream yields.
    @Test func hugeCountWithSmallStream() throws {
        let stream = AlphaCodec.compress([1, 2, 3])
        #expect(throws: BitstreamError.corrupt("alpha plane holds 3 bytes; the header implies \(1 << 40)")) {
            try AlphaCodec.decompress(stream, count: 1 << 40)
        }
    }
}
