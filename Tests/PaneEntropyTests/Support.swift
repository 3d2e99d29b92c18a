import Foundation
@testable import PaneEntropy

/// SplitMix64 (Steele, Lea & Flood 2014): a seeded generator, so every property test is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `Fixtures/rans_fixture.json`, written by `Training/tests/make_rans_fixtures.py`.
struct RANSFixture: Decodable {
    let offsets: [Int32]
    let cdfs: [[Int32]]
    let indexes: [Int32]
    let symbols: [Int32]
    let encodedBase64: String

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rans_fixture.json")

    static func load() throws -> RANSFixture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RANSFixture.self, from: Data(contentsOf: url))
    }

    func tables() throws -> CDFTables { try CDFTables(cdfs: cdfs, offsets: offsets) }

    func encoded() throws -> [UInt8] {
        guard let data = Data(base64Encoded: encodedBase64) else { throw EntropyError.corrupt("fixture base64") }
        return [UInt8](data)
    }
}

/// A random valid CDF row with `symbolCount` symbols (escape included), every frequency >= 1.
func randomCDF(symbolCount: Int, using generator: inout SeededGenerator) -> [Int32] {
    let total = Int(RANS.total)
    var cuts = Set<Int>()
    while cuts.count < symbolCount - 1 { cuts.insert(Int.random(in: 1..<total, using: &generator)) }
    return [0] + cuts.sorted().map(Int32.init) + [Int32(total)]
}

/// A stream of raw uniform 4-bit symbols, the first one decoded first.
func craftedNibbles(_ nibbles: [UInt32]) -> [UInt8] {
    var encoder = RANSEncoder()
    for value in nibbles.reversed() { encoder.putNibble(value) }
    return encoder.finish()
}
