import Foundation
import Testing
import PaneBitstream
import PaneImageIO
import PaneKernels
@testable import Pane
@testable import PaneModel

/// The fixtures of Tests/PaneModelTests/Fixtures/conformance/ (DESIGN.md, "Determinism"):
///  - python_*.pane: written by Training/codec.py, with the ẑ and ŷ it coded (.json), made by
///    Training/tests/make_conformance_fixtures.py, which Training/export.py runs after every export;
///  - swift_*.pane: written by this file's `swiftWrittenStreams` test when PANE_WRITE_CONFORMANCE=1:
///        PANE_WRITE_CONFORMANCE=1 swift test -c release -Xswiftc -enable-testing --filter ConformanceTests
///    Training/tests/test_codec.py decodes them in Python and compares with the ẑ and ŷ stored here.
enum Conformance {
    static let directory = Repo.fixtures.appendingPathComponent("conformance")
    static let codec = Codec(network: ParityTests.network)

    struct Ints: Codable, Equatable {
        let shape: [Int]
        let data: [Int64]
        init(_ t: IntegerEntropyModel.IntTensor) {
            shape = [t.channels, t.height, t.width]
            data = t.data
        }
    }

    /// One stream and what it holds (the `<name>.json` beside `<name>.pane`).
    struct Case: Codable {
        let name: String
        let writer: String
        var input: String? = nil
        let quality: Double
        let width: Int
        let height: Int
        let stream: String
        var decoded: String? = nil
        /// How close the Python encoder's roundings of ẑ and q came to a tie (python_* only).
        var margin_z: Double? = nil
        var margin_y: Double? = nil
        let z_hat: Ints
        let y_hat: Ints

        var bytes: [UInt8] { get throws { [UInt8](try Data(contentsOf: directory.appendingPathComponent(stream))) } }
    }

    struct Meta: Decodable {
        struct Entry: Decodable { let name: String }
        struct Latent: Decodable {
            let file: String, tensor: String, width: Int, height: Int
            let streams: [Entry]
        }
        let model_sha256: String
        let streams: [Entry]
        let latent: Latent
        /// Tiled streams (optional: fixtures from before tiling have none).
        let tiled: [Entry]?
        /// Lossless streams (format version 2).
        struct Lossless: Decodable { let name: String, input: String, tile_size: Int, stream: String }
        let lossless: [Lossless]?
    }

    /// A tiled stream and its per-tile integers (python_tiled_* and tiled_swift_*).
    struct TiledCase: Codable {
        struct Tile: Codable, Equatable {
            let z_hat: Ints
            let y_hat: Ints
        }
        let name: String
        let writer: String
        let input: String
        let quality: Double
        let width: Int
        let height: Int
        let tile_size: Int
        let stream: String
        var decoded: String? = nil
        let tiles: [Tile]

        var bytes: [UInt8] { get throws { [UInt8](try Data(contentsOf: directory.appendingPathComponent(stream))) } }
    }

    static func loadTiled(_ name: String) throws -> TiledCase {
        try JSONDecoder().decode(TiledCase.self, from: Data(contentsOf: directory.appendingPathComponent("\(name).json")))
    }

    /// The tiled stream this file writes under PANE_WRITE_CONFORMANCE=1 (Training/tests/test_codec.py reads it).
    static let swiftTiled = (input: "crop_rgba.png", quality: 55.0, tileSize: 64, name: "tiled_swift_crop_rgba_q55")

    static let meta: Meta? = try? JSONDecoder().decode(
        Meta.self, from: Data(contentsOf: directory.appendingPathComponent("conformance.json")))
    static let pythonStreams: [String] = meta.map { $0.streams.map(\.name) } ?? []
    static let pythonTiledStreams: [String] = meta.flatMap { $0.tiled?.map(\.name) } ?? []
    static let latentStreams: [String] = meta.map { $0.latent.streams.map(\.name) } ?? []
    static let losslessStreams: [String] = meta.flatMap { $0.lossless?.map(\.name) } ?? []

    static func load(_ name: String) throws -> Case {
        try JSONDecoder().decode(Case.self, from: Data(contentsOf: directory.appendingPathComponent("\(name).json")))
    }

    static func image(_ relativePath: String) throws -> Image {
        try Image(contentsOfFile: directory.appendingPathComponent(relativePath).standardized.path)
    }

    /// The streams this file writes under PANE_WRITE_CONFORMANCE=1: (input, quality).
    static let swiftStreams: [(input: String, quality: Double)] = [
        ("../../../paneTests/Fixtures/small.png", 60),
        ("small_gray.png", 45.25),
        ("crop_rgba.png", 75),
    ]

    static func swiftName(_ input: String, _ quality: Double) -> String {
        let stem = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        let q = quality == quality.rounded() ? String(Int(quality)) : String(quality)
        return "swift_\(stem)_q\(q)"
    }

    /// Largest |a − b| over the samples (colour and alpha) of two images of the same layout.
    static func maxDifference(_ a: Image, _ b: Image) -> Int {
        guard a.width == b.width, a.height == b.height, a.channels == b.channels, (a.alpha == nil) == (b.alpha == nil)
        else { return .max }
        var worst = zip(a.pixels, b.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
        if let x = a.alpha, let y = b.alpha { worst = max(worst, zip(x, y).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }) }
        return worst
    }
}

@Suite struct ConformanceTests {
    let codec = Conformance.codec

    @Test func fixturesBelongToTheShippedModel() throws {
        let meta = try #require(Conformance.meta, "conformance.json is missing: run Training/tests/make_conformance_fixtures.py")
        #expect(meta.model_sha256 == codec.network.manifest.sha256,
                "conformance fixtures were made for another model: run Training/tests/make_conformance_fixtures.py")
        #expect(Conformance.pythonStreams.count >= 6 && Conformance.latentStreams.count >= 2)
    }

    /// A stream written by Python decodes in Swift to the very same integers.
    @Test(arguments: Conformance.pythonStreams + Conformance.latentStreams)
    func pythonStreamDecodesToTheSameLatents(_ name: String) throws {
        let c = try Conformance.load(name)
        let latents = try codec.decodeLatents(try c.bytes)
        #expect(latents.header.width == c.width && latents.header.height == c.height && latents.header.quality == c.quality)
        #expect(Conformance.Ints(latents.zHat) == c.z_hat, "\(name): ẑ differs")
        #expect(Conformance.Ints(latents.yHat) == c.y_hat, "\(name): ŷ differs")
    }

    /// ... and to Python's image up to float rounding in g_s (alpha exactly; gray stays gray).
    @Test(arguments: Conformance.pythonStreams)
    func pythonStreamDecodesToPythonsImage(_ name: String) throws {
        let c = try Conformance.load(name)
        let image = try codec.decode(try c.bytes)
        let reference = try Conformance.image(try #require(c.decoded))
        #expect(Conformance.maxDifference(image, reference) <= 2, "\(name): decoded images differ")
        let input = try Conformance.image(try #require(c.input))
        #expect(image.alpha == input.alpha && image.isGrayscale == input.isGrayscale)
    }

    /// Given the same latent y, Swift's entropy path writes exactly Python's bytes (the latent is
    /// chosen so that no rounding is near a tie; see make_conformance_fixtures.py).
    @Test(arguments: Conformance.latentStreams)
    func fixedLatentEncodesToPythonsBytes(_ name: String) throws {
        let meta = try #require(Conformance.meta)
        let file = try SafeTensors(contentsOf: Conformance.directory.appendingPathComponent(meta.latent.file))
        let (shape, values) = try file.floats(meta.latent.tensor)
        let y = Tensor(channels: shape[0], height: shape[1], width: shape[2], data: values)
        let c = try Conformance.load(name)
        let encoded = try codec.encodeLatent(y, quality: c.quality, width: meta.latent.width, height: meta.latent.height)
        #expect(Conformance.Ints(encoded.zHat) == c.z_hat && Conformance.Ints(encoded.yHat) == c.y_hat)
        #expect(encoded.bytes == (try c.bytes), "\(name): Swift writes other bytes than Python")
    }

    /// Swift-written streams for Training/tests/test_codec.py: regenerated under PANE_WRITE_CONFORMANCE=1,
    /// otherwise checked to be current (this model) and to decode to the latents stored with them.
    @Test func swiftWrittenStreams() throws {
        let write = ProcessInfo.processInfo.environment["PANE_WRITE_CONFORMANCE"] == "1"
        for (input, quality) in Conformance.swiftStreams {
            let name = Conformance.swiftName(input, quality)
            if write {
                let encoded = try codec.encode(try Conformance.image(input), quality: quality)
                let c = Conformance.Case(name: name, writer: "swift", input: input, quality: quality,
                                         width: encoded.header.width, height: encoded.header.height,
                                         stream: "\(name).pane", z_hat: .init(encoded.zHat), y_hat: .init(encoded.yHat))
                try Data(encoded.bytes).write(to: Conformance.directory.appendingPathComponent(c.stream))
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try (encoder.encode(c) + Data("\n".utf8)).write(to: Conformance.directory.appendingPathComponent("\(name).json"))
            }
            let c = try Conformance.load(name)
            let bytes = try c.bytes
            #expect(try PaneFile.peekHeader(bytes).modelID == codec.modelID,
                    "\(name) was written for another model: rerun with PANE_WRITE_CONFORMANCE=1")
            #expect(try PaneFile.peekHeader(bytes).formatVersion == PaneHeader.currentVersion,
                    "\(name) is of an older format: rerun with PANE_WRITE_CONFORMANCE=1")
            let latents = try codec.decodeLatents(bytes)
            #expect(Conformance.Ints(latents.zHat) == c.z_hat && Conformance.Ints(latents.yHat) == c.y_hat)
        }
    }

    /// A tiled stream written by Python decodes in Swift to the same integers in every tile, and
    /// to Python's image up to float rounding in g_s.
    @Test(arguments: Conformance.pythonTiledStreams)
    func pythonTiledStreamDecodes(_ name: String) throws {
        let c = try Conformance.loadTiled(name)
        let latents = try codec.decodeLatents(try c.bytes)
        #expect(latents.header.tileSize == c.tile_size && latents.tiles.count == c.tiles.count)
        #expect(latents.tiles.map { Conformance.TiledCase.Tile(z_hat: .init($0.zHat), y_hat: .init($0.yHat)) } == c.tiles)
        let image = codec.synthesize(latents)
        let reference = try Conformance.image(try #require(c.decoded))
        #expect(Conformance.maxDifference(image, reference) <= 2, "\(name): decoded images differ")
    }

    /// Python's lossless streams decode to their input exactly, and Swift writes the same bytes.
    @Test(arguments: Conformance.losslessStreams)
    func pythonLosslessStreamIsExactAndSwiftWritesItToo(_ name: String) throws {
        let entry = try #require(Conformance.meta?.lossless?.first { $0.name == name })
        let bytes = [UInt8](try Data(contentsOf: Conformance.directory.appendingPathComponent(entry.stream)))
        let input = try Conformance.image(entry.input)
        let decoded = try codec.decode(bytes)
        #expect(decoded.pixels == input.pixels && decoded.alpha == input.alpha && decoded.channels == input.channels)
        let encoded = try codec.encodeLossless(input, tileSize: entry.tile_size)
        #expect(encoded.bytes == bytes, "\(name): Swift writes other bytes than Python")
        #expect(codec.reconstruction(of: encoded).pixels == input.pixels)
    }

    @Test func losslessStreamsAreThere() {
        #expect(Conformance.losslessStreams.count >= 2, "no lossless conformance streams: run Training/tests/make_conformance_fixtures.py")
    }

    @Test func pythonTiledStreamsAreThere() {
        #expect(!Conformance.pythonTiledStreams.isEmpty, "no tiled conformance stream: run Training/tests/make_conformance_fixtures.py")
    }

    /// The Swift-written tiled stream for Training/tests/test_codec.py (PANE_WRITE_CONFORMANCE=1 rewrites it).
    @Test func swiftWrittenTiledStream() throws {
        let spec = Conformance.swiftTiled
        if ProcessInfo.processInfo.environment["PANE_WRITE_CONFORMANCE"] == "1" {
            let encoded = try codec.encode(try Conformance.image(spec.input), quality: spec.quality, tileSize: spec.tileSize)
            let c = Conformance.TiledCase(
                name: spec.name, writer: "swift", input: spec.input, quality: spec.quality,
                width: encoded.header.width, height: encoded.header.height, tile_size: spec.tileSize,
                stream: "\(spec.name).pane",
                tiles: encoded.tiles.map { .init(z_hat: .init($0.zHat), y_hat: .init($0.yHat)) })
            try Data(encoded.bytes).write(to: Conformance.directory.appendingPathComponent(c.stream))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try (encoder.encode(c) + Data("\n".utf8)).write(to: Conformance.directory.appendingPathComponent("\(spec.name).json"))
        }
        let c = try Conformance.loadTiled(spec.name)
        let bytes = try c.bytes
        #expect(try PaneFile.peekHeader(bytes).modelID == codec.modelID,
                "\(spec.name) was written for another model: rerun with PANE_WRITE_CONFORMANCE=1")
        #expect(try PaneFile.peekHeader(bytes).formatVersion == PaneHeader.currentVersion,
                "\(spec.name) is of an older format: rerun with PANE_WRITE_CONFORMANCE=1")
        let latents = try codec.decodeLatents(bytes)
        #expect(c.tiles.count > 1)
        #expect(latents.tiles.map { Conformance.TiledCase.Tile(z_hat: .init($0.zHat), y_hat: .init($0.yHat)) } == c.tiles)
    }

    /// Swift and Python encoders see the same image through different float kernels (g_a, h_a).
    /// Where no rounding of ẑ came within 1e-3 of a tie they agree on ẑ, and then on all but a few ŷ
    /// (a q rounding near a tie may go the other way); the streams usually are identical.
    @Test func swiftAndPythonEncodersAgreeOnTheLatents() throws {
        var identical = 0
        for name in Conformance.pythonStreams {
            let c = try Conformance.load(name)
            let encoded = try codec.encode(try Conformance.image(try #require(c.input)), quality: c.quality)
            if encoded.bytes == (try c.bytes) { identical += 1 }
            guard (c.margin_z ?? 0) >= 1e-3 else { continue }
            #expect(Conformance.Ints(encoded.zHat) == c.z_hat, "\(name): ẑ differs between the Swift and Python encoders")
            let differing = zip(encoded.yHat.data, c.y_hat.data).filter { $0 != $1 }.count
            #expect(differing <= c.y_hat.data.count / 1000, "\(name): \(differing) of \(c.y_hat.data.count) ŷ differ")
        }
        print("Swift's encoder wrote Python's exact bytes for \(identical) of \(Conformance.pythonStreams.count) images")
    }
}
