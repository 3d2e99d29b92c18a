import Foundation
import Testing

/// The `pane` executable, run as a user would.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/paneTests/Fixtures")

    /// The built `pane` beside the test bundle.
    static var executable: URL {
        let dir = Bundle.main.bundleURL
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("pane")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return dir.appendingPathComponent("pane")
    }

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Runs `pane` with `arguments`; its standard input is `stdin`, or empty.
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        try runRaw(arguments, environment: environment, stdin: stdin).text
    }

    struct RawResult {
        let status: Int32; let stdout: Data; let stderr: Data
        var text: Result { Result(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self)) }
    }

    /// As `run`, with standard output as bytes.
    static func runRaw(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws -> RawResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = root
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "100"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        // Standard input and standard error are served from other threads, so that no pipe
        // can fill up and deadlock the child.
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            if let stdin { input.fileHandleForWriting.write(stdin) }
            try? input.fileHandleForWriting.close()
        }
        nonisolated(unsafe) var e = Data()
        DispatchQueue.global().async(group: group) { e = err.fileHandleForReading.readDataToEndOfFile() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return RawResult(status: process.terminationStatus, stdout: o, stderr: e)
    }

    /// Compares `text` with the golden file `name`; PANE_UPDATE_GOLDEN=1 rewrites it instead.
    static func expectGolden(_ text: String, _ name: String) throws {
        let url = fixtures.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["PANE_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let golden = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("golden file \(name) is missing: run with PANE_UPDATE_GOLDEN=1")
            return
        }
        #expect(text == golden, "output differs from \(name)")
    }
}

@Suite struct CLITests {
    @Test func versionPrints() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test(arguments: ["", "encode", "decode", "info", "bench", "preview", "batch", "rd"])
    func helpMatchesGolden(subcommand: String) throws {
        let args = subcommand.isEmpty ? ["--help"] : [subcommand, "--help"]
        let r = try CLI.run(args)
        #expect(r.status == 0)
        try CLI.expectGolden(r.stdout, "help-\(subcommand.isEmpty ? "pane" : subcommand).txt")
    }

    @Test func missingInputIsOneLineError() throws {
        let r = try CLI.run(["preview", "/nonexistent/photo.png"])
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("/nonexistent/photo.png"))
    }

    @Test func qualityOutOfRangeIsRefused() throws {
        let r = try CLI.run(["preview", CLI.fixtures.appendingPathComponent("small.png").path, "-q", "150"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("quality"))
    }

    @Test func notAnImageIsRefused() throws {
        let r = try CLI.run(["preview", CLI.root.appendingPathComponent("Package.swift").path])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
    }

    @Test func missingModelIsRefused() throws {
        let r = try CLI.run(["preview", CLI.fixtures.appendingPathComponent("small.png").path, "--model", "/nonexistent/m.json"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/m.json"))
    }

    /// A small image whose sides are not multiples of 64 goes through padding and cropping.
    @Test func previewWritesReconstructionAndJSON() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pane-preview-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try CLI.run(["preview", CLI.fixtures.appendingPathComponent("small.png").path, "-q", "60",
                             "-o", out.path, "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(obj?["width"] as? Int == 96 && obj?["height"] as? Int == 80)
        let bpp = obj?["estimated_bpp"] as? Double ?? -1
        let psnr = obj?["psnr"] as? Double ?? -1
        #expect(bpp > 0 && bpp < 24)
        #expect(psnr > 5 && psnr < 100)
        #expect(FileManager.default.fileExists(atPath: out.path))
    }

    /// `bench --floor` prints each side's MACs by arithmetic and the floor they set.
    @Test func benchPrintsComputeFloor() throws {
        let r = try CLI.run(["bench", CLI.fixtures.appendingPathComponent("small.png").path, "--repeats", "1", "--floor"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("compute floor"))
        for side in ["encode", "decode"] {
            let line = r.stdout.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(side): int8") }
            #expect(line?.contains("ms of GEMMs") == true, "no \(side) floor line in:\n\(r.stdout)")
        }
    }

    func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-cli-\(UUID().uuidString)-\(name)")
    }

    /// encode → info → decode through the CLI; the decoded PNG matches the encoder's reported PSNR.
    @Test func encodeDecodeRoundTrip() throws {
        let stream = scratch("s.pane"), png = scratch("d.png")
        defer { for u in [stream, png] { try? FileManager.default.removeItem(at: u) } }
        let input = CLI.fixtures.appendingPathComponent("small.png").path
        let e = try CLI.run(["encode", input, "-o", stream.path, "-q", "50"])
        #expect(e.status == 0, "stderr: \(e.stderr)")
        let info = try CLI.run(["info", stream.path, "--json"])
        #expect(info.status == 0, "stderr: \(info.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        #expect(obj?["width"] as? Int == 96 && obj?["height"] as? Int == 80 && obj?["quality"] as? Double == 50)
        #expect(obj?["bytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: stream.path)[.size] as? Int))
        let d = try CLI.run(["decode", stream.path, "-o", png.path])
        #expect(d.status == 0, "stderr: \(d.stderr)")
        #expect(FileManager.default.fileExists(atPath: png.path))
        // Existing outputs are kept unless -f is given.
        let again = try CLI.run(["decode", stream.path, "-o", png.path])
        #expect(again.status != 0 && again.stderr.contains("-f"))
        #expect(try CLI.run(["decode", stream.path, "-o", png.path, "-f"]).status == 0)
    }

    @Test func corruptStreamIsOneLineErrorAndNoOutput() throws {
        let stream = scratch("bad.pane"), png = scratch("bad.png")
        defer { for u in [stream, png] { try? FileManager.default.removeItem(at: u) } }
        let input = CLI.fixtures.appendingPathComponent("small.png").path
        #expect(try CLI.run(["encode", input, "-o", stream.path]).status == 0)
        var bytes = [UInt8](try Data(contentsOf: stream))
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: stream)
        let d = try CLI.run(["decode", stream.path, "-o", png.path])
        #expect(d.status != 0)
        #expect(d.stderr.split(separator: "\n").count == 1, "stderr: \(d.stderr)")
        #expect(!FileManager.default.fileExists(atPath: png.path))
        try Data(bytes.prefix(40)).write(to: stream)
        let t = try CLI.run(["decode", stream.path, "-o", png.path])
        #expect(t.status != 0 && t.stderr.lowercased().contains("truncated"), "stderr: \(t.stderr)")
    }

    @Test func sizeTargetIsMet() throws {
        let stream = scratch("t.pane")
        defer { try? FileManager.default.removeItem(at: stream) }
        let input = CLI.fixtures.appendingPathComponent("small.png").path
        let r = try CLI.run(["encode", input, "-o", stream.path, "--size", "600"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let size = try FileManager.default.attributesOfItem(atPath: stream.path)[.size] as? Int ?? 0
        #expect(size <= 600 && size > 300, "size \(size)")
    }
}
