import Testing
@testable import PaneEntropy

/// Hostile input gives a typed error or symbols, never a trap or a long loop.
@Suite struct RANSCorruptionTests {
    let fixture = try! RANSFixture.load()

    /// The decoder consumes every byte in order, so every strict prefix runs out.
    @Test func everyTruncationIsTruncated() throws {
        let bytes = try fixture.encoded()
        let tables = try fixture.tables()
        for cut in 0..<bytes.count {
            #expect(throws: EntropyError.truncated) {
                try RANS.decode(Array(bytes[..<cut]), indexes: fixture.indexes, tables: tables)
            }
        }
    }

    /// 12,000 streams with 1–3 bytes flipped. One stream per symbol list: whatever decodes
    /// must re-encode to the same bytes.
    @Test func randomByteFlips() throws {
        let original = try fixture.encoded()
        let tables = try fixture.tables()
        var generator = SeededGenerator(state: 7)
        var outcomes = (decoded: 0, truncated: 0, corrupt: 0)
        for _ in 0..<12_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            }
            do {
                let symbols = try RANS.decode(bytes, indexes: fixture.indexes, tables: tables)
                outcomes.decoded += 1
                #expect(try RANS.encode(symbols: symbols, indexes: fixture.indexes, tables: tables) == bytes)
            } catch EntropyError.truncated {
                outcomes.truncated += 1
            } catch EntropyError.corrupt {
                outcomes.corrupt += 1
            }
        }
        #expect(outcomes.corrupt > 0 && outcomes.truncated > 0)
        #expect(outcomes.decoded < 12_000 / 100)
    }

    /// Random bytes of random lengths against random indexes.
    @Test func randomGarbage() throws {
        let tables = try fixture.tables()
        var generator = SeededGenerator(state: 8)
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let indexes = (0..<Int.random(in: 0...100, using: &generator)).map { _ in
                Int32.random(in: 0..<Int32(fixture.cdfs.count), using: &generator)
            }
            do {
                let symbols = try RANS.decode(bytes, indexes: indexes, tables: tables)
                #expect(symbols.count == indexes.count)
            } catch let error as EntropyError {
                #expect(error == .truncated || { if case .corrupt = error { true } else { false } }())
            }
        }
    }

    @Test func leftoverBytesAndBadStates() throws {
        let bytes = try fixture.encoded()
        let tables = try fixture.tables()
        func reason(_ stream: [UInt8], _ indexes: [Int32]) -> String? {
            do { _ = try RANS.decode(stream, indexes: indexes, tables: tables) } catch EntropyError.corrupt(let why) { return why } catch {}
            return nil
        }
        #expect(reason(bytes + [0], fixture.indexes)?.contains("left after") == true)
        #expect(reason([0xFF, 0xFF, 0xFF, 0xFF] + bytes[4...], fixture.indexes)?.contains("initial state") == true)
        #expect(reason([0, 0, 0, 0] + bytes[4...], fixture.indexes)?.contains("initial state") == true)
        #expect(reason(bytes, Array(fixture.indexes.dropLast())) != nil)
    }

    /// Streams no encoder writes, built nibble by nibble on a table whose escape is nibble 15.
    @Test func hostileBypass() throws {
        let uniform = (0...16).map { Int32($0 * 4096) }
        let tables = try CDFTables(cdfs: [uniform], offsets: [0])
        #expect(try RANS.decode(craftedNibbles([15, 0, 6]), indexes: [0], tables: tables) == [15 + 3])
        #expect(try RANS.decode(craftedNibbles([15, 0, 7]), indexes: [0], tables: tables) == [-4])
        #expect(throws: EntropyError.corrupt("bypass of 10 groups exceeds 9")) {
            try RANS.decode(craftedNibbles([15, 9] + Array(repeating: 1, count: 10)), indexes: [0], tables: tables)
        }
        #expect(throws: EntropyError.corrupt("bypass value has a leading zero group")) {
            try RANS.decode(craftedNibbles([15, 1, 3, 0]), indexes: [0], tables: tables)
        }
        #expect(throws: EntropyError.corrupt("symbol -34359738368 at position 0 outside Int32")) {
            try RANS.decode(craftedNibbles([15, 8] + Array(repeating: 15, count: 9)), indexes: [0], tables: tables)
        }
    }
}
