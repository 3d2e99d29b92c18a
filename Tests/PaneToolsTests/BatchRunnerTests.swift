import Foundation
import Pane
import PaneImageIO
import Testing
@testable import PaneTools

/// Small trees of images for the batch runner, coded with the shipped model.
enum BatchFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let loaded = Result { try Codec(modelURL: root.appendingPathComponent("Models/pane.json")) }
    static var codec: Codec { get throws { try loaded.get() } }
    static let small = Result { try Image(contentsOfFile: root.appendingPathComponent("Tests/paneTests/Fixtures/small.png").path) }

    /// small.png (96×80) and variants: flipped, gray, with alpha, cropped to 40×24.
    static func variants() throws -> [Image] {
        let s = try small.get()
        let rowBytes = s.width * s.channels
        let flipped: [UInt8] = (0..<s.height).reversed().flatMap { (y: Int) -> ArraySlice<UInt8> in s.pixels[y * rowBytes..<(y + 1) * rowBytes] }
        let gray = stride(from: 0, to: s.pixels.count, by: 3).map { (i: Int) -> UInt8 in
            let weighted: Int = 2 * Int(s.pixels[i]) + 5 * Int(s.pixels[i + 1]) + Int(s.pixels[i + 2])
            return UInt8(weighted / 8)
        }
        let alpha = (0..<s.width * s.height).map { UInt8($0 % 256) }
        let cropped: [UInt8] = (0..<24).flatMap { (y: Int) -> ArraySlice<UInt8> in s.pixels[y * rowBytes..<(y * rowBytes + 40 * 3)] }
        return [s,
                Image(width: s.width, height: s.height, channels: 3, pixels: flipped),
                Image(width: s.width, height: s.height, channels: 1, pixels: gray),
                Image(width: s.width, height: s.height, channels: 3, pixels: s.pixels, alpha: alpha),
                Image(width: 40, height: 24, channels: 3, pixels: cropped)]
    }

    static func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-batch-\(name)-\(UUID().uuidString)").path
    }

    /// Writes `bytes` at `root/relative`, creating directories.
    static func put(_ bytes: Data, _ root: String, _ relative: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    /// Writes image `i % variants` at each path, as PNG or (for .jpg/.jpeg names) JPEG.
    static func tree(_ root: String, _ paths: [String]) throws {
        let images = try variants()
        for (i, path) in paths.enumerated() {
            let image = images[i % images.count]
            let isJPEG = path.lowercased().hasSuffix(".jpg") || path.lowercased().hasSuffix(".jpeg")
            try put(try image.encoded(as: isJPEG && image.alpha == nil ? .jpeg(JPEGOptions(quality: 90)) : .png), root, path)
        }
    }

    /// Every file under `root`, relative, sorted (temporary files included).
    static func files(_ root: String) throws -> [String] {
        try BatchWalker.walk(root).files.map(\.relativePath)
    }

    static func run(_ source: String, _ destination: String, _ mode: BatchMode = .encode(.quality(75)),
                    shard: BatchShard = .all, jobs: Int = 2) throws -> BatchSummary {
        let plan = BatchPlan(listing: try BatchWalker.walk(source, excluding: destination), mode: mode, shard: shard)
        return try BatchRunner(plan: plan, source: source, destination: destination, codec: try codec, jobs: jobs).run()
    }
}

@Suite(.serialized) struct BatchRunnerTests {
    static let images = ["top.png", "a/one.png", "a/b/two.JPG", "a/b/c/three.jpeg", "a/gray.png", "a/.hidden.png"]

    @Test func mirrorsTreeAndCountsNonImages() throws {
        let source = BatchFixture.scratch("src"), destination = BatchFixture.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        try BatchFixture.tree(source, Self.images)
        try BatchFixture.put(Data("hello".utf8), source, "notes.txt")
        try BatchFixture.put(Data("x".utf8), source, "a/b/README")
        let summary = try BatchFixture.run(source, destination)
        #expect(summary.files == 6 && summary.done == 6 && summary.nonInputs == 2 && summary.failures.isEmpty)
        #expect(try BatchFixture.files(destination)
                == ["a/.hidden.pane", "a/b/c/three.pane", "a/b/two.pane", "a/gray.pane", "a/one.pane", "top.pane"])
        let codec = try BatchFixture.codec
        for input in Self.images {
            let output = destination + "/" + BatchMode.encode(.quality(75)).outputPath(for: input)
            let original = try Image(contentsOfFile: source + "/" + input)
            let decoded = try codec.decode([UInt8](try FileIO.contents(ofFile: output)))
            #expect(decoded.width == original.width && decoded.height == original.height && decoded.channels == original.channels)
        }
        let sizes = try Self.images.map { try FileManager.default.attributesOfItem(atPath: source + "/" + $0)[.size] as! Int }
        #expect(summary.inputBytes == Int64(sizes.reduce(0, +)))
        #expect(summary.pixels == Int64(5 * 96 * 80 + 40 * 24), "five 96×80 images and one 40×24 crop")
        #expect(summary.outputBytes == summary.compressedBytes && summary.ratio! > 1 && summary.bitsPerPixel! > 0)
    }

    @Test func rerunSkipsCompleteRedoesPartialAndRemovesLeftovers() throws {
        let source = BatchFixture.scratch("src"), destination = BatchFixture.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        try BatchFixture.tree(source, Self.images)
        #expect(try BatchFixture.run(source, destination).done == 6)
        let first = try Self.images.map { try Data(contentsOf: URL(fileURLWithPath: destination + "/" + Self.output($0))) }

        let truncated = destination + "/a/one.pane"
        try first[1].prefix(first[1].count / 2).write(to: URL(fileURLWithPath: truncated))
        try FileManager.default.removeItem(atPath: destination + "/a/b/two.pane")
        // A leftover of a dead writer (a process just reaped), and files that are not leftovers:
        // another live run's (this process's id), other forms, a user's own.
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        try BatchFixture.put(Data("partial".utf8), destination, "a/b/c/.three.pane.tmp-\(dead.processIdentifier)-k3x9")
        let live = "a/b/c/.three.pane.tmp-\(getpid())-k3x9"
        for keep in ["a/b/c/.three.pane.tmp-K3X9", "a/b/c/three.pane.tmp-k3x9", "a/b/c/.three.pane.tmp-", "a/b/c/.three.pane.bak",
                     "a/b/c/.three.pane.tmp-k3x9", live] {
            try BatchFixture.put(Data("not ours".utf8), destination, keep)
        }
        #expect(!BatchRunner.isComplete(truncated, mode: .encode(.quality(75))))

        let again = try BatchFixture.run(source, destination)
        #expect(again.done == 2 && again.replacedIncomplete == 1 && again.skippedExisting == 4 && again.failures.isEmpty)
        #expect(again.removedTemporaryFiles == 1)
        let second = try Self.images.map { try Data(contentsOf: URL(fileURLWithPath: destination + "/" + Self.output($0))) }
        #expect(second == first, "redone outputs are identical to the first run's")
        #expect(Set(try BatchFixture.files(destination).filter { $0.hasPrefix("a/b/c/") })
                == ["a/b/c/.three.pane.bak", "a/b/c/.three.pane.tmp-", "a/b/c/.three.pane.tmp-K3X9", "a/b/c/.three.pane.tmp-k3x9",
                    live, "a/b/c/three.pane", "a/b/c/three.pane.tmp-k3x9"])

        let third = try BatchFixture.run(source, destination)
        #expect(third.done == 0 && third.skippedExisting == 6)
    }

    static func output(_ input: String) -> String { BatchMode.encode(.quality(75)).outputPath(for: input) }

    /// A file that is not an image and a truncated PNG in the middle: both reported, the rest done.
    @Test func badInputsAreReportedAndTheBatchGoesOn() throws {
        let source = BatchFixture.scratch("src"), destination = BatchFixture.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        try BatchFixture.tree(source, ["a.png", "b.png", "e.png", "f.png"])
        try BatchFixture.put(Data("this is not a PNG".utf8), source, "c.png")
        let png = try BatchFixture.small.get().encoded(as: .png)
        try BatchFixture.put(png.prefix(png.count / 2), source, "d.png")
        let summary = try BatchFixture.run(source, destination, jobs: 2)
        #expect(summary.done == 4)
        #expect(summary.failures.map(\.path) == ["c.png", "d.png"])
        #expect(summary.failures.allSatisfy { !$0.reason.isEmpty && !$0.reason.contains("\n") })
        #expect(try BatchFixture.files(destination) == ["a.pane", "b.pane", "e.pane", "f.pane"])
    }

    /// `.pane` → PNG gives exactly `codec.decode`'s pixels (gray and alpha included).
    @Test func decodeRoundTrip() throws {
        let source = BatchFixture.scratch("src"), streams = BatchFixture.scratch("pane"), decoded = BatchFixture.scratch("png")
        defer { for d in [source, streams, decoded] { try? FileManager.default.removeItem(atPath: d) } }
        let names = ["rgb.png", "x/flipped.png", "x/gray.png", "x/y/alpha.png", "crop.png"]
        try BatchFixture.tree(source, names)
        #expect(try BatchFixture.run(source, streams, .encode(.quality(40))).done == 5)
        let summary = try BatchFixture.run(streams, decoded, .decode)
        #expect(summary.done == 5 && summary.failures.isEmpty)
        #expect(try BatchFixture.files(decoded) == ["crop.png", "rgb.png", "x/flipped.png", "x/gray.png", "x/y/alpha.png"])
        let codec = try BatchFixture.codec
        for name in names {
            let stream = streams + "/" + BatchMode.encode(.quality(40)).outputPath(for: name)
            let expected = try codec.decode([UInt8](try FileIO.contents(ofFile: stream)))
            #expect(try Image(contentsOfFile: decoded + "/" + name) == expected, "\(name)")
        }
        #expect(try BatchFixture.run(streams, decoded, .decode).skippedExisting == 5)
    }

    @Test func bitsPerPixelTargetIsMet() throws {
        let source = BatchFixture.scratch("src"), destination = BatchFixture.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        try BatchFixture.tree(source, ["a.png", "b.png"])
        #expect(try BatchFixture.run(source, destination, .encode(.bitsPerPixel(1.0))).done == 2)
        for name in ["a.pane", "b.pane"] {
            let size = try FileIO.contents(ofFile: destination + "/" + name).count
            #expect(size <= 96 * 80 / 8 && size > 96 * 80 / 8 / 2, "\(name): \(size) bytes")
        }
    }

    /// Three shards run one after another into one destination do every file once.
    @Test func shardsTogetherDoTheWholeTree() throws {
        let source = BatchFixture.scratch("src"), destination = BatchFixture.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        let names = (0..<8).map { "s\($0 % 3)/img\($0).png" }
        try BatchFixture.tree(source, names)
        let summaries = try (0..<3).map { try BatchFixture.run(source, destination, shard: try BatchShard(index: $0, count: 3), jobs: 1) }
        #expect(summaries.map(\.done).reduce(0, +) == 8 && summaries.allSatisfy { $0.skippedExisting == 0 })
        #expect(summaries.allSatisfy { $0.files + $0.otherShards == 8 })
        #expect(try BatchFixture.files(destination) == names.map(Self.output).sorted())
    }
}
