import Foundation
import Testing

/// `pane rd` as a user runs it (JPEG only, so no model run and no external tools are needed).
@Suite struct RDCommandTests {
    func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-rd-cli-\(UUID().uuidString)")
    }

    @Test func jpegSweepWritesTheReportAndPrintsJSON() throws {
        let out = scratch()
        defer { try? FileManager.default.removeItem(at: out) }
        let input = CLI.fixtures.appendingPathComponent("small.png").path
        let r = try CLI.run(["rd", input, "--codecs", "jpeg,webp", "-o", out.path, "--json"], environment: ["PATH": "/nonexistent"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["rd-msssim.svg", "rd-psnr.svg", "rd.csv", "rd.json", "summary.md"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let curves = json?["curves"] as? [[String: Any]] ?? []
        #expect(json?["images"] as? Int == 1)
        #expect(curves.map { $0["codec"] as? String } == ["jpeg"])
        #expect((curves.first?["points"] as? [Any])?.count == 19)
        #expect(r.stdout == (try String(contentsOf: out.appendingPathComponent("rd.json"), encoding: .utf8)))
        // Not a terminal: a notice for the missing tools, a line per image and a closing line.
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "pane rd: skipping webp: cwebp, dwebp not found on PATH")
        #expect(lines.contains { $0.hasPrefix("[1/1] small.png (") })
        #expect(lines.last?.hasPrefix("pane rd: 1 images, 19 codings in ") == true)
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("- skipping webp: cwebp, dwebp not found on PATH"))
    }

    @Test func badArgumentsAreOneLineErrors() throws {
        let input = CLI.fixtures.appendingPathComponent("small.png").path
        for args in [["--codecs", "jpeg,gif"], ["--qualities", "10,abc"], ["--qualities", "150"], ["--jobs", "0"]] {
            let r = try CLI.run(["rd", input, "-o", scratch().path] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.split(separator: "\n").count <= 3, "\(args): \(r.stderr)")
        }
        let r = try CLI.run(["rd", "/nonexistent/images", "-o", scratch().path, "--codecs", "jpeg"])
        #expect(r.status != 0 && r.stderr.contains("/nonexistent/images"))
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
    }
}
