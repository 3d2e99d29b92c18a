import Testing
@testable import PaneEntropy

/// Property tests: whatever goes in comes back out, escapes and extreme values included.
@Suite struct RANSRoundTripTests {
    /// Random tables (2 to 400 symbols, a few skewed to a single dominant symbol), offsets and
    /// symbols with ~10 % escapes on both sides, some as far as ±2^30.
    static func randomCase(seed: UInt64, count: Int) -> (symbols: [Int32], indexes: [Int32], cdfs: [[Int32]], offsets: [Int32]) {
        var generator = SeededGenerator(state: seed)
        var cdfs: [[Int32]] = []
        for _ in 0..<Int.random(in: 1...6, using: &generator) {
            let symbolCount = Int.random(in: 2...400, using: &generator)
            if Bool.random(using: &generator) {
                cdfs.append(randomCDF(symbolCount: symbolCount, using: &generator))
            } else {
                let rest = Int32(symbolCount - 1)
                cdfs.append([0] + (0..<rest).map { Int32(RANS.total) - rest + $0 } + [Int32(RANS.total)])
            }
        }
        let offsets = cdfs.map { _ in Int32.random(in: -300...300, using: &generator) }
        var symbols: [Int32] = []
        var indexes: [Int32] = []
        for _ in 0..<count {
            let t = Int.random(in: 0..<cdfs.count, using: &generator)
            let n = Int64(cdfs[t].count - 2)
            let reach = Int64(1) << Int64.random(in: 1...30, using: &generator)
            let v: Int64 = switch Double.random(in: 0..<1, using: &generator) {
            case ..<0.05: -Int64.random(in: 1...reach, using: &generator)
            case ..<0.10: n + Int64.random(in: 0..<reach, using: &generator)
            default: Int64.random(in: 0..<n, using: &generator)
            }
            indexes.append(Int32(t))
            symbols.append(Int32(clamping: v + Int64(offsets[t])))
        }
        return (symbols, indexes, cdfs, offsets)
    }

    @Test(arguments: 0..<25)
    func randomRoundTrip(seed: Int) throws {
        let c = Self.randomCase(seed: UInt64(seed), count: 4000)
        let tables = try CDFTables(cdfs: c.cdfs, offsets: c.offsets)
        let bytes = try RANS.encode(symbols: c.symbols, indexes: c.indexes, tables: tables)
        #expect(try RANS.decode(bytes, indexes: c.indexes, tables: tables) == c.symbols)
    }

    @Test func extremesWithExtremeOffsets() throws {
        let cdf: [Int32] = [0, 16000, 32000, 48000, 64000, 65536]
        let symbols: [Int32] = [.min, .max, 0, 3, 4, -1, 1 << 30, -(1 << 30), 7, .min + 1, .max - 1]
        let indexes = [Int32](repeating: 0, count: symbols.count)
        for offset: Int32 in [.min, -5, 0, 5, .max] {
            let tables = try CDFTables(cdfs: [cdf], offsets: [offset])
            let bytes = try RANS.encode(symbols: symbols, indexes: indexes, tables: tables)
            #expect(try RANS.decode(bytes, indexes: indexes, tables: tables) == symbols, "offset \(offset)")
        }
    }

    @Test func emptyStreamIsTheInitialState() throws {
        let tables = try CDFTables(cdfs: [[0, 1, 65536]], offsets: [0])
        #expect(try RANS.encode(symbols: [], indexes: [], tables: tables) == [0, 0, 0x80, 0])
        #expect(try RANS.decode([0, 0, 0x80, 0], indexes: [], tables: tables) == [])
    }

    /// Gaussian and skewed tables from the Python quantizer, with new symbols drawn around them.
    @Test func fixtureTablesRoundTrip() throws {
        let fixture = try RANSFixture.load()
        let tables = try fixture.tables()
        var generator = SeededGenerator(state: 99)
        let indexes = (0..<50_000).map { _ in Int32.random(in: 0..<Int32(fixture.cdfs.count), using: &generator) }
        let symbols = indexes.map { t in
            let n = Int32(fixture.cdfs[Int(t)].count - 2)
            return fixture.offsets[Int(t)] + Int32.random(in: -3...(n + 2), using: &generator)
        }
        let bytes = try RANS.encode(symbols: symbols, indexes: indexes, tables: tables)
        #expect(try RANS.decode(bytes, indexes: indexes, tables: tables) == symbols)
    }
}
