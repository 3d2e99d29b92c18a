import Foundation
import Testing
import CPaneKernels
@testable import PaneModel

/// Loading refuses every inconsistency with an error naming the key or field.
@Suite struct ModelLoadingTests {
    /// A scratch copy of the shipped model whose manifest or weights a test may alter.
    struct Scratch {
        let dir: URL
        var manifest: [String: Any]
        var weights: [UInt8]

        init(model: URL = Repo.model) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("pane-model-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: model)) as! [String: Any]
            weights = [UInt8](try Data(contentsOf: model.deletingLastPathComponent()
                .appendingPathComponent(manifest["weights"] as! String)))
        }

        /// Writes both files (refreshing the checksum unless `keepChecksum`) and loads them.
        func load(keepChecksum: Bool = false) throws -> PaneNetwork {
            var m = manifest
            if !keepChecksum {
                m["sha256"] = SHA256.hex(weights)
                if m["crc32"] != nil { m["crc32"] = PaneNetwork.crc32Hex(weights) }
            }
            try Data(weights).write(to: dir.appendingPathComponent(m["weights"] as! String))
            let url = dir.appendingPathComponent("model.json")
            try JSONSerialization.data(withJSONObject: m).write(to: url)
            defer { try? FileManager.default.removeItem(at: dir) }
            return try PaneNetwork(manifestURL: url)
        }

        /// Rebuilds the weights with `edit` applied to the (name → (dtype, shape, bytes)) table.
        mutating func editTensors(_ edit: (inout [String: (String, [Int], [UInt8])]) -> Void) throws {
            let file = try SafeTensors(bytes: weights)
            var table: [String: (String, [Int], [UInt8])] = [:]
            for (name, entry) in file.entries {
                table[name] = (entry.dtype, entry.shape, try file.rawBytes(name))
            }
            edit(&table)
            var header: [String: Any] = [:]
            var data: [UInt8] = []
            for name in table.keys.sorted() {
                let (dtype, shape, bytes) = table[name]!
                header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [data.count, data.count + bytes.count]]
                data += bytes
            }
            let json = [UInt8](try JSONSerialization.data(withJSONObject: header))
            var out = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) }
            out += json
            out += data
            weights = out
        }
    }

    func expectError(_ expected: ModelError, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(expected)")
        } catch let error as ModelError {
            #expect(error == expected)
            #expect(!error.description.isEmpty && !error.description.contains("\n"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func shippedModelLoads() throws {
        let net = try PaneNetwork(manifestURL: Repo.model)
        #expect(net.manifest.format == "pane-model")
        #expect(net.anchors >= 6)
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The dispatched compression (SHA extensions where the CPU has them) and the plain C one agree
    /// on every length around the block and padding boundaries, and on a large buffer.
    @Test func sha256PathsAgree() {
        var rng = KernelTests.Generator(state: 99)
        for length in Array(0...130) + [1000, 4096, 65_537, 3_000_001] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(SHA256.digest(bytes) == SHA256.digest(bytes, compress: pane_sha256_blocks_reference), "length \(length)")
        }
        print("SHA-256 extensions: \(pane_cpu_has_sha() == 1 ? "used" : "not available")")
    }

    /// One flipped bit in the weights: refused by the crc32, and by the sha256 of a manifest
    /// without crc32 (older exports).
    @Test func checksumMismatchIsRefused() throws {
        var s = try Scratch()
        s.weights[s.weights.count - 1] ^= 1
        #expect(s.manifest["crc32"] != nil, "the shipped manifest carries a crc32")
        expectError(.checksumMismatch(expected: "crc32 " + (s.manifest["crc32"] as! String),
                                      actual: "crc32 " + PaneNetwork.crc32Hex(s.weights))) {
            _ = try s.load(keepChecksum: true)
        }
        var old = try Scratch()   // load() removes its directory
        old.weights[old.weights.count - 1] ^= 1
        old.manifest["crc32"] = nil
        expectError(.checksumMismatch(expected: "sha256 " + (old.manifest["sha256"] as! String),
                                      actual: "sha256 " + SHA256.hex(old.weights))) {
            _ = try old.load(keepChecksum: true)
        }
    }

    /// zlib's CRC-32 check value.
    @Test func crc32KnownValue() {
        #expect(PaneNetwork.crc32Hex(Array("123456789".utf8)) == "cbf43926")
        #expect(PaneNetwork.crc32Hex([]) == "00000000")
    }

    /// Large inputs are checksummed in parts on the kernel threads and joined: the CRC must be
    /// the one-pass value (Python: `zlib.crc32(bytes((i * 31) % 251 for i in range((3 << 20) + 7)))`).
    @Test func crc32InPartsEqualsOnePass() {
        let bytes = (0..<(3 << 20) + 7).map { UInt8(($0 &* 31) % 251) }
        for threads in [1, 2, 3, 5] {
            #expect(bytes.withUnsafeBytes { PaneNetwork.crc32Hex($0, threads: threads) } == "37a28910", "\(threads) parts")
        }
    }

    @Test func newerVersionIsRefused() throws {
        var s = try Scratch()
        s.manifest["version"] = 99
        expectError(.unsupportedVersion(found: 99, supported: 1)) { _ = try s.load() }
    }

    @Test func wrongFormatIsRefused() throws {
        var s = try Scratch()
        s.manifest["format"] = "something-else"
        expectError(.wrongFormat("something-else")) { _ = try s.load() }
    }

    @Test func missingFieldIsNamed() throws {
        var s = try Scratch()
        s.manifest.removeValue(forKey: "g_s")
        expectError(.missingField("g_s")) { _ = try s.load() }
    }

    @Test func missingTensorIsNamed() throws {
        var s = try Scratch()
        try s.editTensors { $0.removeValue(forKey: "g_s.2.beta") }
        expectError(.missingTensor("g_s.2.beta")) { _ = try s.load() }
    }

    @Test func shapeMismatchIsNamed() throws {
        var s = try Scratch()
        try s.editTensors { t in
            let (dtype, shape, bytes) = t["h_a.0.bias"]!
            t["h_a.0.bias"] = (dtype, [shape[0] - 1], Array(bytes.dropLast(4)))
        }
        let n = (s.manifest["config"] as! [String: Any])["N"] as! Int
        expectError(.shapeMismatch("h_a.0.bias", expected: [n], actual: [n - 1])) { _ = try s.load() }
    }

    /// An attention layer's `head_dim` (written since head pruning) is bounded like every count,
    /// and one that disagrees with the weights is a shape mismatch, not a wrong network.
    @Test func headWidthIsCheckedAgainstRangeAndWeights() throws {
        func withHeadDim(_ value: Int) throws -> Scratch {
            var s = try Scratch()
            var g_a = s.manifest["g_a"] as! [[String: Any]]
            let i = try #require(g_a.firstIndex { $0["type"] as? String == "attention" })
            g_a[i]["head_dim"] = value
            s.manifest["g_a"] = g_a
            return s
        }
        for value in [0, 1 << 40] {
            do {
                _ = try withHeadDim(value).load()
                Issue.record("head_dim \(value) was accepted")
            } catch let ModelError.invalidField(field, _) {
                #expect(field.hasSuffix("head_dim"), "\(field)")
            }
        }
        do {
            _ = try withHeadDim(16).load()
            Issue.record("a head width the weights do not have was accepted")
        } catch let ModelError.shapeMismatch(name, _, _) {
            #expect(name.hasSuffix("attn.qkv.weight") || name.hasSuffix("attn.qkv.bias"), "\(name)")
        }
    }

    @Test func unusedTensorIsNamed() throws {
        var s = try Scratch()
        try s.editTensors { $0["stray.weight"] = ("F32", [1], [0, 0, 0, 0]) }
        expectError(.unusedTensors(["stray.weight"])) { _ = try s.load() }
    }

    /// The integer entropy path's weights are stored as I16; model files written before that
    /// stored them as I32, and must still load and give the same integers.
    @Test func int32EntropyWeightsOfOlderFilesLoadAlike() throws {
        var s = try Scratch()
        var widened = 0
        try s.editTensors { t in
            for (name, (dtype, shape, bytes)) in t where name.hasPrefix("int.") && name.hasSuffix(".weight") {
                #expect(dtype == "I16", "\(name) is \(dtype)")
                var out: [UInt8] = []
                for i in stride(from: 0, to: bytes.count, by: 2) {
                    let v = Int32(Int16(bitPattern: UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8))
                    out += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
                }
                t[name] = ("I32", shape, out)
                widened += 1
            }
        }
        #expect(widened > 0)
        let old = try s.load(), shipped = try PaneNetwork(manifestURL: Repo.model)
        let nz = shipped.manifest.config.Nz, side = 4
        let z = IntegerEntropyModel.IntTensor(channels: nz, height: side, width: side,
                                              data: (0..<(nz * side * side)).map { Int64($0 % 7) - 3 })
        let (a, b) = (old.entropyModel.hyper(z), shipped.entropyModel.hyper(z))
        #expect(a == b)
        let size = shipped.manifest.slices.size
        let symbols: (Int, [Int64], [Int32]) -> [Int32] = { i, mu, _ in mu.indices.map { Int32(($0 + i) % 5) - 2 } }
        #expect(old.entropyModel.runSlices(hyper: a, sliceSize: size, symbols: symbols)
                == shipped.entropyModel.runSlices(hyper: b, sliceSize: size, symbols: symbols))
    }

    @Test func floatEntropyWeightsAreRefused() throws {
        var s = try Scratch()
        try s.editTensors { t in
            let (_, shape, _) = t["int.h_s.0.weight"]!
            t["int.h_s.0.weight"] = ("F32", shape, [UInt8](repeating: 0, count: shape.reduce(1, *) * 4))
        }
        expectError(.wrongType("int.h_s.0.weight", expected: "I16", actual: "F32")) { _ = try s.load() }
    }

    /// Integer weights live in ±32767: an I32 weight beyond int16 (Int32.min too, whose magnitude
    /// overflows), or −32768 stored as I16, is refused.
    @Test func integerWeightsOutsideInt16AreRefused() throws {
        for (dtype, value) in [("I32", Int32(40_000)), ("I32", Int32.min), ("I16", Int32(Int16.min))] {
            var s = try Scratch()
            try s.editTensors { t in
                let (_, shape, _) = t["int.h_s.0.weight"]!
                let width = dtype == "I32" ? 4 : 2
                var bytes = [UInt8](repeating: 0, count: shape.reduce(1, *) * width)
                for i in 0..<width { bytes[3 * width + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
                t["int.h_s.0.weight"] = (dtype, shape, bytes)
            }
            expectError(.invalidField("int.h_s.0.weight", "weights exceed int16")) { _ = try s.load() }
        }
    }

    /// Scale indexes come from a binary search over each channel's thresholds, so they must ascend.
    @Test func descendingScaleThresholdsAreRefused() throws {
        var s = try Scratch()
        try s.editTensors { t in
            var (dtype, shape, bytes) = t["int.cc_scale.0.thresholds"]!
            let first = Array(bytes[0..<8]), second = Array(bytes[8..<16])
            bytes.replaceSubrange(0..<16, with: second + first)
            t["int.cc_scale.0.thresholds"] = (dtype, shape, bytes)
        }
        expectError(.invalidField("int.cc_scale.0.thresholds", "not ascending")) { _ = try s.load() }
    }

    @Test func truncatedWeightsAreCorrupt() throws {
        var s = try Scratch()
        s.weights = Array(s.weights.prefix(100))
        do {
            _ = try s.load()
            Issue.record("truncated weights loaded")
        } catch let error as ModelError {
            guard case .corrupt = error else { Issue.record("expected .corrupt, got \(error)"); return }
        }
    }
}
