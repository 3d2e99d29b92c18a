import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `pane batch` run as a user would, including being killed mid-run.
@Suite(.serialized) struct BatchCLITests {
    static func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-batch-cli-\(name)-\(UUID().uuidString)").path
    }

    /// Copies of small.png at `paths` under `root`.
    static func tree(_ root: String, _ paths: [String]) throws {
        let png = try Data(contentsOf: CLI.fixtures.appendingPathComponent("small.png"))
        for path in paths {
            let url = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try png.write(to: url)
        }
    }

    /// Every file under `root`, relative and sorted.
    static func files(_ root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var found: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                found.append(path)
            }
        }
        return found.sorted()
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static let twelve = (0..<12).map { ["", "a/", "a/b/"][$0 % 3] + "img\($0).png" }
    static let twelveOutputs = twelve.map { $0.replacingOccurrences(of: ".png", with: ".pane") }.sorted()

    /// SIGKILL after the first output appears; the rerun finishes the job and leaves exactly the outputs.
    @Test func killedRunResumes() throws {
        let source = Self.scratch("src"), destination = Self.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.tree(source, Self.twelve)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: source + "/a/notes.txt"))
        let arguments = ["batch", source, destination, "-q", "75", "--jobs", "1"]

        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.currentDirectoryURL = CLI.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline && !Self.files(destination).contains(where: { $0.hasSuffix(".pane") }) {
            usleep(5_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let atKill = Self.files(destination).filter { $0.hasSuffix(".pane") }
        #expect(process.terminationReason == .uncaughtSignal, "the run was killed, not finished")
        #expect(!atKill.isEmpty && atKill.count < 12, "killed mid-batch: \(atKill.count) outputs")

        // Whatever carries an output's name is complete (the dry run parses each one).
        let dry = try CLI.run(arguments + ["--dry-run", "--json"])
        #expect(dry.status == 0, "stderr: \(dry.stderr)")
        let planned = try Self.json(dry.stdout)
        #expect(planned["replace_incomplete"] as? Int == 0)
        #expect(planned["skipped_existing"] as? Int == atKill.count)
        #expect(planned["to_do"] as? Int == 12 - atKill.count)

        let rerun = try CLI.run(arguments + ["--json"])
        #expect(rerun.status == 0, "stderr: \(rerun.stderr)")
        let summary = try Self.json(rerun.stdout)
        #expect(summary["done"] as? Int == 12 - atKill.count && summary["skipped_existing"] as? Int == atKill.count)
        #expect(summary["skipped_non_image"] as? Int == 1 && summary["failed"] as? Int == 0)
        #expect(Self.files(destination) == Self.twelveOutputs, "exactly the outputs: no temporary or extra files")

        // Every output parses and decodes.
        let decoded = Self.scratch("png")
        defer { try? FileManager.default.removeItem(atPath: decoded) }
        let check = try CLI.run(["batch", destination, decoded, "--decode", "--json"])
        #expect(check.status == 0, "stderr: \(check.stderr)")
        #expect(try Self.json(check.stdout)["done"] as? Int == 12)
        #expect(Self.files(decoded) == Self.twelve.sorted())
    }

    @Test func corruptInputIsReportedOthersDoneExitNonZero() throws {
        let source = Self.scratch("src"), destination = Self.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.tree(source, ["a.png", "b.png", "d.png", "e.png"])
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: source + "/c.png"))
        let r = try CLI.run(["batch", source, destination, "--jobs", "2", "--json"])
        #expect(r.status != 0)
        let summary = try Self.json(r.stdout)
        #expect(summary["done"] as? Int == 4 && summary["failed"] as? Int == 1)
        #expect((summary["failures"] as? [[String: String]])?.first?["path"] == "c.png")
        #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("c.png: ") }.count == 1, "stderr: \(r.stderr)")
        #expect(Self.files(destination) == ["a.pane", "b.pane", "d.pane", "e.pane"])
    }

    @Test func dryRunWritesNothing() throws {
        let source = Self.scratch("src"), destination = Self.scratch("dst")
        defer { try? FileManager.default.removeItem(atPath: source) }
        try Self.tree(source, ["x.png", "y/z.png"])
        let r = try CLI.run(["batch", source, destination, "--dry-run", "--shard", "0/1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "encode x.png → x.pane\nencode y/z.png → y/z.pane\n")
        #expect(r.stderr.contains("2 to encode"))
        #expect(!FileManager.default.fileExists(atPath: destination))
    }

    @Test(arguments: [["--shard", "4/4"], ["--shard", "x"], ["--jobs", "0"], ["--decode", "-q", "50"], ["-q", "50", "--bpp", "1"]])
    func badArgumentsAreRefused(_ extra: [String]) throws {
        let r = try CLI.run(["batch", "/tmp", "/tmp/out"] + extra)
        #expect(r.status != 0)
        #expect(r.stderr.contains("Error:"), "stderr: \(r.stderr)")
    }

    @Test func missingSourceIsOneLineError() throws {
        let r = try CLI.run(["batch", "/nonexistent/photos", Self.scratch("dst")])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("/nonexistent/photos"), "stderr: \(r.stderr)")
    }
}

/// Two `pane batch` processes on one destination at once: neither removes the other's files in
/// flight (their temporary names carry the writer's process id), both finish, every output is whole.
@Suite struct ConcurrentBatchCLITests {
    @Test func twoRunsOnOneDestinationBothSucceed() throws {
        let source = BatchCLITests.scratch("src"), destination = BatchCLITests.scratch("dst")
        defer { for d in [source, destination] { try? FileManager.default.removeItem(atPath: d) } }
        let inputs = (0..<12).map { "d\($0 % 3)/img\($0).png" }
        try BatchCLITests.tree(source, inputs)
        nonisolated(unsafe) var first: CLI.Result? = nil, second: CLI.Result? = nil
        let group = DispatchGroup()
        let arguments = ["batch", source, destination, "-q", "40", "--jobs", "1", "--threads", "1"]
        DispatchQueue.global().async(group: group) { first = try? CLI.run(arguments) }
        DispatchQueue.global().async(group: group) { second = try? CLI.run(arguments) }
        group.wait()
        let results = [first, second]
        for r in results {
            #expect(r?.status == 0, "stderr: \(r?.stderr ?? "did not run")")
        }
        let outputs = BatchCLITests.files(destination)
        #expect(outputs == inputs.map { $0.replacingOccurrences(of: ".png", with: ".pane") }.sorted(), "\(outputs)")
        for output in outputs {
            let decoded = BatchCLITests.scratch("out") + ".png"
            defer { unlink(decoded) }
            #expect(try CLI.run(["decode", destination + "/" + output, "-o", decoded]).status == 0, "\(output)")
        }
    }
}
