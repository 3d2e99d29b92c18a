import Foundation
import Testing

/// Choosing the model from the command line: decode finds the stream's release by itself,
/// a named model that did not write the stream is refused naming the one that did, and a
/// missing or unknown model is a one-line error.
@Suite struct ReleaseCLITests {
    static let golden = CLI.root.appendingPathComponent("Tests/PaneModelTests/Fixtures/releases/pane-121k-int8.pane").path

    func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-rel-\(UUID().uuidString)-\(name)").path
    }

    @Test func int8StreamDecodesWithoutModelFlag() throws {
        let out = scratch("d.png")
        defer { unlink(out) }
        let r = try CLI.run(["decode", Self.golden, "-o", out])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: out))
        let info = try CLI.run(["info", Self.golden, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        #expect(obj?["release"] as? String == "pane-121k-int8")
    }

    @Test func wrongNamedModelNamesTheRightRelease() throws {
        let r = try CLI.run(["decode", Self.golden, "-o", scratch("d.png"), "--model", "pane-121k"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("release pane-121k-int8"), "stderr: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func missingOrUnknownModelIsOneLineError() throws {
        let input = CLI.fixtures.appendingPathComponent("small.png").path
        let missing = try CLI.run(["encode", input, "-o", scratch("x.pane")], environment: ["PANE_MODEL": "/missing/m.json"])
        #expect(missing.status != 0 && missing.stderr.contains("/missing/m.json") && missing.stderr.contains("No such file"),
                "stderr: \(missing.stderr)")
        let unknown = try CLI.run(["encode", input, "-o", scratch("x.pane"), "--model", "nosuch"])
        #expect(unknown.status != 0 && unknown.stderr.contains("pane-121k"), "stderr: \(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)
    }

    @Test func encodeWritesTheDefaultReleasesID() throws {
        let out = scratch("e.pane")
        defer { unlink(out) }
        #expect(try CLI.run(["encode", CLI.fixtures.appendingPathComponent("small.png").path, "-o", out]).status == 0)
        let info = try CLI.run(["info", out, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        #expect(obj?["release"] as? String == "pane-121k" && obj?["model"] as? String == "30da61054bc82835")
    }
}
