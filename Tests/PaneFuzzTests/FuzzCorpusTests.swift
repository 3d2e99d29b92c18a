import Foundation
import Testing
import Pane
import PaneBitstream
import PaneFuzz

/// Replays the committed seed corpus and every regression input (Fuzz/regressions/<target>/,
/// inputs that once crashed) through the fuzz targets: a crash here fails the test run.
@Suite struct FuzzCorpusTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func files(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let dir = fuzz.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyTargetHasSeeds(_ target: FuzzTarget) {
        #expect(!Self.files("corpus", target).isEmpty, "Fuzz/corpus/\(target.rawValue) is empty: run Fuzz/make_corpus.py")
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusAndRegressionsReplay(_ target: FuzzTarget) throws {
        for url in Self.files("corpus", target) + Self.files("regressions", target) {
            target.run([UInt8](try Data(contentsOf: url)))
        }
    }

    /// The decoder seeds are real tiny-model streams, so the target reaches g_s rather than
    /// stopping at the parser; `repaired` leaves a valid stream unchanged.
    @Test func decoderSeedsDecode() throws {
        let seeds = Self.files("corpus", .decoder)
        #expect(seeds.count >= 4)
        for url in seeds {
            let bytes = [UInt8](try Data(contentsOf: url))
            #expect(FuzzTarget.repaired(bytes, modelID: Tiny.codec.modelID) == bytes, "\(url.lastPathComponent)")
            let image = try Tiny.codec.decode(bytes)
            #expect(image.width * image.height <= FuzzTarget.maxDecoderPixels)
        }
    }

    /// A stream with a flipped payload byte fails its CRC; repaired, it gets past the container.
    @Test func repairRestoresChecksums() throws {
        var bytes = [UInt8](try Data(contentsOf: Self.files("corpus", .decoder)[0]))
        bytes[bytes.count - 6] ^= 0x5A
        #expect(throws: BitstreamError.self) { try PaneFile(parsing: bytes) }
        let repaired = FuzzTarget.repaired(bytes, modelID: Tiny.codec.modelID)
        #expect(throws: Never.self) { try PaneFile(parsing: repaired) }
    }
}
