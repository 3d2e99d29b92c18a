import Foundation
import PaneImageIO
import Testing

/// Every image of Fixtures/pngsuite/ (PngSuite, see its README.md): the valid ones decode to what an
/// independent decoder (pypng, by way of make_pngsuite.py) gives under Pane's rules, the broken ones throw.
@Suite struct PngSuiteTests {
    struct Valid: Decodable {
        var width: Int
        var height: Int
        var channels: Int
        var hasAlpha: Bool
        var pixelsFNV1a64: String
        var alphaFNV1a64: String?
        var firstPixels: [UInt8]
        var firstAlpha: [UInt8]?
    }

    struct Broken: Decodable {
        /// "unsupportedFormat", "truncated" or "corrupt".
        var error: String
        var from: String
        var corruption: String
    }

    struct Expected: Decodable {
        var valid: [String: Valid]
        var broken: [String: Broken]
    }

    static let directory = Fixtures.directory.appendingPathComponent("pngsuite")
    static let expected: Expected = {
        let json = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: json)
    }()

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name + ".png").path
    }

    /// No image is skipped: the folder's PNGs are exactly the listed ones, and only x* files are broken.
    @Test func everyFileIsListed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
        let names = Set(files.filter { $0.hasSuffix(".png") }.map { String($0.dropLast(4)) })
        let valid = Set(Self.expected.valid.keys), broken = Set(Self.expected.broken.keys)
        #expect(names == valid.union(broken))
        #expect(valid.isDisjoint(with: broken))
        #expect(broken.allSatisfy { $0.hasPrefix("x") })
        #expect(!valid.contains { $0.hasPrefix("x") })
        #expect(valid.count == 75)
        #expect(broken.count == 17)
    }

    @Test(arguments: expected.valid.keys.sorted())
    func decodesLikeTheReference(name: String) throws {
        let expected = try #require(Self.expected.valid[name])
        let image = try Image(contentsOfFile: Self.path(name))
        #expect(image.width == expected.width)
        #expect(image.height == expected.height)
        #expect(image.channels == expected.channels)
        #expect((image.alpha != nil) == expected.hasAlpha)
        #expect(Array(image.pixels.prefix(8)) == expected.firstPixels)
        #expect(image.alpha.map { Array($0.prefix(8)) } == expected.firstAlpha)
        #expect(fnv1a64(image.pixels) == expected.pixelsFNV1a64)
        #expect(image.alpha.map(fnv1a64) == expected.alphaFNV1a64)
    }

    @Test(arguments: expected.broken.keys.sorted())
    func brokenFileThrows(name: String) throws {
        let expected = try #require(Self.expected.broken[name])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path(name)))
        let error = #expect(throws: ImageIOError.self, "\(name): \(expected.corruption)") {
            try Image(decoding: bytes)
        }
        #expect(error.map(kind) == expected.error)
        #expect(error.map { !$0.description.isEmpty } == true)
    }

    /// libpng names a bad IHDR value only in a warning before its error; the message carries both.
    @Test(arguments: [("xd0n2c08", "bit depth"), ("xd3n2c08", "bit depth"), ("xd9n2c08", "bit depth"),
                      ("xc1n0g08", "color type"), ("xc9n2c08", "color type")])
    func badHeaderValueIsNamed(name: String, reason: String) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path(name)))
        let error = #expect(throws: ImageIOError.self) { try Image(decoding: bytes) }
        let message = error.map(\.description) ?? ""
        #expect(message.contains(reason) && message.contains("IHDR"), "\(name): \(message)")
    }

    private func kind(_ error: ImageIOError) -> String {
        switch error {
        case .unsupportedFormat: return "unsupportedFormat"
        case .truncated: return "truncated"
        case .corrupt: return "corrupt"
        default: return String(describing: error)
        }
    }
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3), as 16 lowercase hex digits;
/// make_pngsuite.py computes the same. A checksum for spotting a changed sample, not a cryptographic hash.
private func fnv1a64(_ bytes: [UInt8]) -> String {
    let hash = bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
