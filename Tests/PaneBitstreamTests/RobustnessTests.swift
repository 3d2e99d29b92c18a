import Testing
@testable import PaneBitstream

/// Hostile bytes give a BitstreamError, never a trap or a success (STYLE rule 7).
@Suite struct RobustnessTests {
    /// Every byte of the fixture changed 8 ways (12,000+ files): CRC-32 catches every change of
    /// one byte, and framing fields fail as truncated or CRC, so each one must throw.
    @Test func everySingleByteChangeThrows() throws {
        let bytes = try Fixtures.bytes("tiled_alpha.pane")
        var parsed = 0
        for index in bytes.indices {
            for mask: UInt8 in [0x01, 0x02, 0x04, 0x10, 0x80, 0x0F, 0xF0, 0xFF] {
                var broken = bytes
                broken[index] ^= mask
                if bitstreamError({ _ = try PaneFile(parsing: broken) }) == nil { parsed += 1 }
            }
        }
        #expect(bytes.count * 8 >= 10_000)
        #expect(parsed == 0)
    }

    /// 10,000 seeded random mutations (1–4 flips, cuts, insertions and deletions each).
    @Test func randomMutationsNeverCrash() throws {
        let original = try Fixtures.bytes("tiled_alpha.pane")
        var generator = SplitMix64(state: 0x5EED)
        var kinds: [String: Int] = [:]
        for _ in 0..<10_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<8, using: &generator) {
                case 0: bytes.removeSubrange(index...)
                case 1: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                case 2: bytes.remove(at: index)
                default: bytes[index] ^= UInt8.random(in: 1...255, using: &generator)
                }
                if bytes.isEmpty { break }
            }
            if let error = bitstreamError({ _ = try PaneFile(parsing: bytes) }) {
                kinds[error.caseName, default: 0] += 1
            } else {
                // Only a mutation that undid itself may parse.
                #expect(bytes == original)
            }
            _ = try? PaneFile.peekHeader(bytes)
        }
        #expect(kinds["truncated", default: 0] > 0 && kinds["corrupt", default: 0] > 0)
    }

    /// Random flips in the alpha stream give a typed error or a plane of the right size.
    @Test func alphaStreamMutationsNeverCrash() throws {
        let (plane, stream) = try AlphaCodecTests.fixturePlane()
        var generator = SplitMix64(state: 99)
        for _ in 0..<2_000 {
            var broken = stream
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                broken[Int.random(in: 0..<broken.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            }
            if let decoded = try? AlphaCodec.decompress(broken, count: plane.count) {
                #expect(decoded.count == plane.count)
            }
        }
    }
}
