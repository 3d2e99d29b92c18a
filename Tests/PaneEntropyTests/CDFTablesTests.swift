import Testing
@testable import PaneEntropy

/// Malformed tables and indexes are errors, never traps.
@Suite struct CDFTablesTests {
    @Test(arguments: [
        ([[0, 65536]], [0], "table 0: length 2 below 3"),
        ([[1, 2, 65536]], [0], "table 0: must run from 0 to 65536"),
        ([[0, 1, 65535]], [0], "table 0: must run from 0 to 65536"),
        ([[0, 1, 65536], [0, 7, 7, 65536]], [0, 0], "table 1: not strictly increasing at 2"),
        ([[0, 9, 7, 65536]], [0], "table 0: not strictly increasing at 2"),
        ([[0, 1, 65536]], [0, 0], "1 tables but 2 offsets"),
    ] as [([[Int32]], [Int32], String)])
    func invalidTable(cdfs: [[Int32]], offsets: [Int32], reason: String) {
        #expect(throws: EntropyError.invalidTable(reason)) { try CDFTables(cdfs: cdfs, offsets: offsets) }
    }

    @Test func invalidIndexes() throws {
        let tables = try CDFTables(cdfs: [[0, 1, 65536]], offsets: [0])
        let valid = try RANS.encode(symbols: [0, 0], indexes: [0, 0], tables: tables)
        for bad: Int32 in [1, -1, .max, .min] {
            #expect(throws: EntropyError.invalidIndex(1)) { try RANS.encode(symbols: [0, 0], indexes: [0, bad], tables: tables) }
            #expect(throws: EntropyError.invalidIndex(1)) { try RANS.decode(valid, indexes: [0, bad], tables: tables) }
        }
        #expect(throws: EntropyError.invalidIndex(1)) { try RANS.encode(symbols: [0, 0], indexes: [0], tables: tables) }
        #expect(throws: EntropyError.invalidIndex(0)) { try RANS.encode(symbols: [], indexes: [0], tables: tables) }
    }

    @Test func noTablesCodeNothing() throws {
        let tables = try CDFTables(cdfs: [], offsets: [])
        #expect(try RANS.encode(symbols: [], indexes: [], tables: tables) == [0, 0, 0x80, 0])
        #expect(throws: EntropyError.invalidIndex(0)) { try RANS.decode([0, 0, 0x80, 0], indexes: [0], tables: tables) }
    }

    @Test func descriptionsAreOneLine() {
        let errors: [EntropyError] = [.truncated, .corrupt("x"), .invalidTable("y"), .invalidIndex(3)]
        #expect(errors.map(\.description) == [
            "entropy-coded stream is truncated", "entropy-coded stream is corrupt: x",
            "invalid CDF table: y", "invalid table index at position 3",
        ])
    }
}
