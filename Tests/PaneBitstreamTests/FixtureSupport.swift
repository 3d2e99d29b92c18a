import Foundation
import Testing
@testable import PaneBitstream

/// The files in Fixtures/, written by Training/tests/make_bitstream_fixtures.py.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(bytes("bitstream_fixtures.json")))
    }

    /// What make_bitstream_fixtures.py says each file holds, and the broken files it made.
    struct Manifest: Decodable {
        var files: [String: FileDescription]
        var errors: [ErrorCase]
    }

    struct FileDescription: Decodable {
        struct Header: Decodable {
            var model_id_hex: String
            var width: Int
            var height: Int
            var color_layout: String
            var has_alpha: Bool
            var quality: Double
            var tile_size: Int
            var slice_count: Int
            var effort: Int
            var format_version: Int
        }
        struct SectionDescription: Decodable {
            var kind: String
            var tile: Int
            var slice: Int
            var payload_hex: String
        }
        var header: Header
        var sections: [SectionDescription]
        var size: Int
        var sha256: String
        var alpha_plane_hex: String?
        var lossless_samples_hex: String?
    }

    struct ErrorCase: Decodable {
        var name: String
        var hex: String
        /// The Swift case name, e.g. "truncated".
        var error: String
        /// The message, identical on both sides.
        var message: String
        var expected_model_ids_hex: [String]?
    }
}

func bytes(hex: String) -> [UInt8] {
    precondition(hex.count % 2 == 0)
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}

extension BitstreamError {
    /// The case's name, as the fixture JSON records it.
    var caseName: String {
        switch self {
        case .notPane: return "notPane"
        case .newerVersion: return "newerVersion"
        case .unknownModel: return "unknownModel"
        case .truncated: return "truncated"
        case .corrupt: return "corrupt"
        case .missingSection: return "missingSection"
        case .invalidHeader: return "invalidHeader"
        }
    }
}

/// The error `body` throws, or nil when it returns.
func bitstreamError(_ body: () throws -> Void) -> BitstreamError? {
    do {
        try body()
        return nil
    } catch let error as BitstreamError {
        return error
    } catch {
        Issue.record("not a BitstreamError: \(error)")
        return nil
    }
}

/// Offsets of each section's first byte in `file.serialized()`.
func sectionOffsets(_ file: PaneFile) -> [Int] {
    var offsets: [Int] = []
    var offset = file.header.size
    for section in file.sections {
        offsets.append(offset)
        offset += Format.sectionOverhead + section.payload.count
    }
    return offsets
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
