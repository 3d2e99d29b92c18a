import Testing
@testable import PaneEntropy

/// Swift and `Training/rans.py` agree byte for byte, on the fixture written by
/// `Training/tests/make_rans_fixtures.py` (6 discretized Gaussians and a skewed pmf, 5,000
/// symbols with escapes up to the Int32 extremes).
@Suite struct RANSConformanceTests {
    let fixture = try! RANSFixture.load()

    @Test func encodesToPythonBytes() throws {
        let bytes = try RANS.encode(symbols: fixture.symbols, indexes: fixture.indexes, tables: try fixture.tables())
        #expect(bytes == (try fixture.encoded()))
    }

    @Test func decodesPythonBytes() throws {
        let symbols = try RANS.decode(try fixture.encoded(), indexes: fixture.indexes, tables: try fixture.tables())
        #expect(symbols == fixture.symbols)
    }

    @Test func fixtureCoversEscapes() {
        let escapes = zip(fixture.symbols, fixture.indexes).filter { symbol, t in
            let v = Int64(symbol) - Int64(fixture.offsets[Int(t)])
            return v < 0 || v >= Int64(fixture.cdfs[Int(t)].count - 2)
        }
        #expect(escapes.count >= 50)
        #expect(fixture.symbols.contains(.min) && fixture.symbols.contains(.max))
    }
}
