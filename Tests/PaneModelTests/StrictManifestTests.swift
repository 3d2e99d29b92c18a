import Foundation
import Testing
@testable import PaneModel

/// Every geometry field of a manifest is range-checked and checked against the shapes the codec
/// relies on, so an edit gives a one-line error instead of a hang, a crash or silent garbage.
@Suite struct StrictManifestTests {
    typealias Scratch = ModelLoadingTests.Scratch

    /// `edit` applied to the manifest's `entropy_int.h_s[0]`.
    func editingEntropyHs(_ key: String, _ value: Any) throws -> Scratch {
        var s = try Scratch()
        var entropy = s.manifest["entropy_int"] as! [String: Any]
        var layers = entropy["h_s"] as! [[String: Any]]
        layers[0][key] = value
        entropy["h_s"] = layers
        s.manifest["entropy_int"] = entropy
        return s
    }

    func expectInvalid(_ s: Scratch, mentioning text: String) {
        do {
            _ = try s.load()
            Issue.record("loaded a manifest with \(text)")
        } catch let error as ModelError {
            guard case .invalidField = error else { Issue.record("\(error)"); return }
            #expect("\(error)".contains(text), "\(error)")
            #expect(!"\(error)".contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// The edits of the issue: stride −2 hung, 2^40 aborted, padding 2^30 crashed, 0 gave garbage.
    @Test(arguments: [("stride", -2), ("stride", 1 << 40), ("stride", 0), ("padding", 1 << 30), ("padding", -1),
                      ("kernel", 0), ("kernel", 99), ("output_padding", 5), ("in", 0), ("out", 1 << 20)])
    func entropyPathRanges(_ key: String, _ value: Int) throws {
        expectInvalid(try editingEntropyHs(key, value), mentioning: "int.h_s.0")
    }

    @Test func entropyPathMustMapTheCodecsShapes() throws {
        // Stride 1 instead of 2 (and output padding 0 to match): every value is in range, but h_s
        // no longer reaches 4 × 4.
        var s = try editingEntropyHs("stride", 1)
        var entropy = s.manifest["entropy_int"] as! [String: Any]
        var layers = entropy["h_s"] as! [[String: Any]]
        layers[0]["output_padding"] = 0
        entropy["h_s"] = layers
        s.manifest["entropy_int"] = entropy
        expectInvalid(s, mentioning: "entropy_int.h_s")
    }

    /// A g_a padding edit ran and decoded garbage: now the geometry check names g_a.
    @Test func floatGeometryEditsAreRefused() throws {
        for (network, index, key, value) in [("g_a", 0, "padding", 1), ("g_a", 2, "stride", 1), ("g_s", 1, "output_padding", 0), ("g_s", 1, "padding", 1),
                                             ("h_a", 2, "stride", 1), ("g_a", 0, "stride", 9)] as [(String, Int, String, Int)] {
            var s = try Scratch()
            var layers = s.manifest[network] as! [[String: Any]]
            layers[index][key] = value
            s.manifest[network] = layers
            expectInvalid(s, mentioning: network)
        }
    }

    @Test func sha256MustBeSixtyFourHexDigits() throws {
        for bad in ["", "abc", String(repeating: "g", count: 64)] {
            var s = try Scratch()
            s.manifest["sha256"] = bad
            s.manifest["crc32"] = nil
            do {
                _ = try s.load(keepChecksum: true)
                Issue.record("loaded sha256 '\(bad)'")
            } catch let error as ModelError {
                #expect(error == .invalidField("sha256", "must be 64 hex digits"))
            }
        }
    }
}
