import Foundation
import Testing
@testable import PaneTools

/// Shards, plans, temporary-file names and the summary: pure functions, no model.
@Suite struct BatchShardTests {
    /// Published FNV-1a 64 vectors, and pinned shards: a changed hash would move files between
    /// shards and break resuming a sharded batch with a newer pane.
    @Test func hashIsFNV1a64() throws {
        #expect(BatchShard.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(BatchShard.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(BatchShard.hash("foobar") == 0x8594_4171_f739_67e8)
        #expect(BatchShard.hash("a/b/c.png") == 0x358d_8a55_6d59_156a)
        #expect(try BatchShard(index: 0, count: 16).shard(of: "photos/2024/IMG_0001.JPG") == 4)
    }

    static let paths: [String] = (0..<50).map { i in
        let directory = ["", "a/", "a/b/", "Ferien 2024/", "ünïcode/日本/"][i % 5]
        return directory + "img\(i)" + [".png", ".jpg", ".JPEG", ".pane"][i % 4]
    }

    @Test(arguments: 1...7)
    func shardsPartitionExactly(count: Int) throws {
        let shards = try (0..<count).map { try BatchShard(index: $0, count: count) }
        var seen: [String: Int] = [:]
        for shard in shards {
            for path in Self.paths where shard.contains(path) { seen[path, default: 0] += 1 }
        }
        #expect(seen.count == Self.paths.count, "every path in some shard")
        #expect(seen.values.allSatisfy { $0 == 1 }, "no path in two shards")
        // Hashing spreads 50 paths over up to 7 shards with none left empty.
        #expect(shards.allSatisfy { shard in Self.paths.contains(where: shard.contains) })
    }

    /// The plan's counts of every shard add up to those of the whole tree.
    @Test(arguments: 1...7)
    func plansOfAllShardsAddUp(count: Int) throws {
        let listing = BatchListing(files: Self.paths.map { .init(relativePath: $0, size: 10) }
                                   + (0..<9).map { .init(relativePath: "doc\($0).txt", size: 1) })
        let whole = BatchPlan(listing: listing, mode: .encode(.quality(75)))
        let plans = try (0..<count).map { BatchPlan(listing: listing, mode: .encode(.quality(75)), shard: try BatchShard(index: $0, count: count)) }
        #expect(plans.flatMap(\.items).map(\.input).sorted() == whole.items.map(\.input).sorted())
        #expect(plans.map(\.nonInputs.count).reduce(0, +) == whole.nonInputs.count)
        #expect(plans.allSatisfy { $0.items.count + $0.otherShards == whole.items.count })
    }

    @Test func parsing() throws {
        #expect(try BatchShard(parsing: "0/1") == .all)
        #expect(try BatchShard(parsing: "15/16") == BatchShard(index: 15, count: 16))
        for bad in ["16/16", "-1/4", "1/0", "0/0", "a/b", "3", "1/2/3", "", "/4", "1/"] {
            #expect(throws: BatchError.self, "\(bad)") { try BatchShard(parsing: bad) }
        }
        #expect(throws: BatchError.invalidShard("4/4: the index must be in 0…3 (it is 0-based)")) {
            try BatchShard(parsing: "4/4")
        }
    }
}

@Suite struct BatchPlanTests {
    static let listing = BatchListing(files: [
        "a/b/c.png", "x.JPG", "y.Jpeg", "z.jpeg.txt", "notes.txt", "archive.tar.gz", ".png", "noext",
        "d/e.pane", "d/f.PANE", "dir.png/inside.png",
    ].map { .init(relativePath: $0, size: 100) }, others: ["fifo.png", "link-to-dir"],
        directories: ["", "a", "a/b", "d", "dir.png"])

    @Test func encodeMirrorsTreeAndSkipsNonImages() {
        let plan = BatchPlan(listing: Self.listing, mode: .encode(.quality(75)))
        #expect(plan.items.map(\.input) == ["a/b/c.png", "dir.png/inside.png", "x.JPG", "y.Jpeg"])
        #expect(plan.items.map(\.output) == ["a/b/c.pane", "dir.png/inside.pane", "x.pane", "y.pane"])
        #expect(plan.nonInputs == [".png", "archive.tar.gz", "d/e.pane", "d/f.PANE", "fifo.png", "link-to-dir", "noext",
                                   "notes.txt", "z.jpeg.txt"])
        #expect(plan.failures.isEmpty && plan.otherShards == 0)
    }

    @Test func decodeTakesPaneFiles() {
        let plan = BatchPlan(listing: Self.listing, mode: .decode)
        #expect(plan.items.map(\.output) == ["d/e.png", "d/f.png"])
        #expect(plan.nonInputs.count == 11)
    }

    /// c.jpg and c.png both become c.pane: the first in byte order wins, in whichever shard.
    @Test func collidingOutputsFailAllButTheFirst() throws {
        let listing = BatchListing(files: ["c.png", "c.jpg", "c.JPEG", "d.png"].map { .init(relativePath: $0, size: 1) })
        let plan = BatchPlan(listing: listing, mode: .encode(.quality(50)))
        #expect(plan.items.map(\.input) == ["c.JPEG", "d.png"])
        #expect(plan.failures == [BatchFailure(path: "c.jpg", reason: "c.JPEG already becomes c.pane"),
                                  BatchFailure(path: "c.png", reason: "c.JPEG already becomes c.pane")])
        let shards = try (0..<3).map { BatchPlan(listing: listing, mode: .encode(.quality(50)), shard: try BatchShard(index: $0, count: 3)) }
        #expect(shards.flatMap(\.items).map(\.input).sorted() == ["c.JPEG", "d.png"])
        #expect(shards.flatMap(\.failures).map(\.path).sorted() == ["c.jpg", "c.png"])
    }

    @Test func temporaryNames() {
        #expect(BatchTemporaryFiles.parse(temporaryName: ".c.pane.tmp-4242-1x2y")! == ("c.pane", 4242))
        #expect(BatchTemporaryFiles.target(ofTemporaryName: ".x.tmp-3.png.tmp-7-0") == "x.tmp-3.png")
        // The longest suffix FileIO.writeAtomically makes: a UInt64 in base 36.
        #expect(BatchTemporaryFiles.target(ofTemporaryName: ".c.png.tmp-1-" + String(UInt64.max, radix: 36)) == "c.png")
        for name in ["c.pane.tmp-1-a", ".c.pane.tmp-", ".c.pane.tmp-1-", ".c.pane.tmp-1-ABC", ".c.pane.tmp-1-ab!", ".tmp-1-abc",
                     "..tmp-1-abc", ".c.pane.tmp-1-" + String(repeating: "z", count: 14), ".c.pane", ".c.pane.tmp-1-a/x",
                     ".thesis.tex.tmp-final", ".c.pane.tmp-k3x9", ".c.pane.tmp-0-a", ".c.pane.tmp-x1-a", ".c.pane.tmp-1-2-3"] {
            #expect(BatchTemporaryFiles.target(ofTemporaryName: name) == nil, "\(name)")
        }
    }

    @Test func onlyADeadWritersFilesAreLeftovers() throws {
        #expect(!BatchTemporaryFiles.isGone(getpid()))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        #expect(BatchTemporaryFiles.isGone(child.processIdentifier))
    }

    /// A shard leaves the temporary files of other shards' outputs alone: they may be in flight.
    @Test func temporaryFilesOfOtherShardsAreKept() throws {
        let paths = (0..<20).map { "img\($0).png" }
        let listing = BatchListing(files: paths.map { .init(relativePath: $0, size: 1) })
        let shard = try BatchShard(index: 1, count: 3)
        let plan = BatchPlan(listing: listing, mode: .encode(.quality(50)), shard: shard)
        for path in paths {
            let output = BatchMode.encode(.quality(50)).outputPath(for: path)
            #expect(plan.mayRemoveTemporaryFile(of: output) == shard.contains(path))
        }
        #expect(plan.mayRemoveTemporaryFile(of: "written-by-nobody.pane"))
    }

    @Test func walkerListsSortedAndExcludesDestination() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pane-walk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for path in ["b/z.png", "b/a.png", "a.txt", "out/x.pane", "c/d/e.jpg"] {
            try FileManager.default.createDirectory(atPath: (root + "/" + path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Data("12345".utf8).write(to: URL(fileURLWithPath: root + "/" + path))
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/loop", withDestinationPath: root)
        try FileManager.default.createSymbolicLink(atPath: root + "/link.png", withDestinationPath: root + "/b/a.png")
        let listing = try BatchWalker.walk(root, excluding: root + "/out")
        #expect(listing.files.map(\.relativePath) == ["a.txt", "b/a.png", "b/z.png", "c/d/e.jpg", "link.png"])
        #expect(listing.files.allSatisfy { $0.size == 5 })
        #expect(listing.others == ["loop"])
        #expect(listing.directories == ["", "b", "c", "c/d"])
        #expect(throws: BatchError.notADirectory(path: root + "/a.txt")) { try BatchWalker.walk(root + "/a.txt") }
    }
}

@Suite struct BatchSummaryTests {
    static func summary() throws -> BatchSummary {
        let listing = BatchListing(files: (0..<4).map { .init(relativePath: "i\($0).png", size: 1000) } + [.init(relativePath: "n.txt", size: 3)])
        var s = BatchSummary(plan: BatchPlan(listing: listing, mode: .encode(.quality(75))), jobs: 2)
        let items = BatchPlan(listing: listing, mode: .encode(.quality(75))).items
        s.add(items[0], .done(inputBytes: 1000, outputBytes: 100, compressedBytes: 100, pixels: 1600, replacedIncomplete: true))
        s.add(items[1], .skippedExisting)
        s.add(items[2], .failed(BatchFailure(path: "i2.png", reason: "corrupt \"PNG\"")))
        s.seconds = 2
        return s
    }

    @Test func numbersAndJSON() throws {
        let s = try Self.summary()
        #expect(s.ratio == 10 && s.bitsPerPixel == 0.5 && s.imagesPerSecond == 0.5 && s.megabytesPerSecond == 0.0005)
        #expect(s.etaSeconds == 2, "1000 bytes left at 500 bytes/s")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(s.json.utf8)) as? [String: Any])
        #expect(object["files"] as? Int == 4 && object["done"] as? Int == 1 && object["skipped_existing"] as? Int == 1)
        #expect(object["replaced_incomplete"] as? Int == 1 && object["skipped_non_image"] as? Int == 1 && object["failed"] as? Int == 1)
        #expect(object["input_bytes"] as? Int == 1000 && object["output_bytes"] as? Int == 100 && object["bpp"] as? Double == 0.5)
        #expect((object["failures"] as? [[String: String]]) == [["path": "i2.png", "reason": "corrupt \"PNG\""]])
        #expect(!s.json.contains("\n") && s.text.split(separator: "\n").count == 2)
    }

    @Test func progressLineAndUnits() throws {
        let line = try Self.summary().progressLine
        #expect(line == "[##################------] 3/4 files  1.0 kB → 100 B  10.0×  ETA 0:02  1 failed")
        #expect(BatchSummary.bytes(15_100_000) == "15.10 MB" && BatchSummary.bytes(12_345) == "12.3 kB" && BatchSummary.bytes(999) == "999 B")
        #expect(BatchSummary.clock(61.2) == "1:02" && BatchSummary.clock(3725) == "1:02:05")
    }
}
