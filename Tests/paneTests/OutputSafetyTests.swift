import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Pipes and what `-o` may touch, through the `pane` executable: `-` is standard input or
/// output, a command never writes over its own input, and `preview -o` asks for `-f` like the others.
@Suite struct OutputSafetyTests {
    let input = CLI.fixtures.appendingPathComponent("small.png").path

    func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-out-\(UUID().uuidString)-\(name)").path
    }

    @Test func standardInputToStandardOutputRoundTrip() throws {
        let png = try Data(contentsOf: URL(fileURLWithPath: input))
        let encoded = try CLI.runRaw(["encode", "-", "-o", "-", "-q", "50"], stdin: png)
        #expect(encoded.status == 0, "stderr: \(encoded.text.stderr)")
        #expect(encoded.stdout.starts(with: Array("PANE".utf8)))
        // The same stream as a file encode of the same image.
        let file = scratch("s.pane")
        defer { unlink(file) }
        #expect(try CLI.run(["encode", input, "-o", file, "-q", "50"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == encoded.stdout)

        let decoded = try CLI.runRaw(["decode", "-", "-o", "-"], stdin: encoded.stdout)
        #expect(decoded.status == 0, "stderr: \(decoded.text.stderr)")
        #expect(decoded.stdout.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let viaFile = scratch("d.png")
        defer { unlink(viaFile) }
        #expect(try CLI.run(["decode", file, "-o", viaFile]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: viaFile)) == decoded.stdout)
    }

    @Test func emptyStandardInputIsOneLineError() throws {
        let r = try CLI.run(["encode", "-", "-o", "-"], stdin: Data())
        #expect(r.status != 0 && r.stdout.isEmpty)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
    }

    @Test func writingOverTheInputIsRefused() throws {
        let copy = scratch("in.png")
        defer { unlink(copy) }
        try FileManager.default.copyItem(atPath: input, toPath: copy)
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        for command in [["encode", copy, "-o", copy, "-f"], ["preview", copy, "-o", copy, "-f"]] {
            let r = try CLI.run(command)
            #expect(r.status != 0 && r.stderr.contains("is the input"), "\(command): \(r.stderr)")
        }
        // Through a symbolic link too: it is the same file.
        let link = scratch("link.png")
        defer { unlink(link) }
        #expect(symlink(copy, link) == 0)
        #expect(try CLI.run(["encode", link, "-o", copy, "-f"]).status != 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before)
    }

    @Test func previewAsksForForceLikeTheOthers() throws {
        let out = scratch("p.png")
        defer { unlink(out) }
        #expect(FileManager.default.createFile(atPath: out, contents: Data("keep".utf8)))
        let r = try CLI.run(["preview", input, "-o", out])
        #expect(r.status != 0 && r.stderr.contains("-f"), "stderr: \(r.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep")
        #expect(try CLI.run(["preview", input, "-o", out, "-f"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)).starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test func devNullIsWrittenInPlace() throws {
        let r = try CLI.run(["decode", try encodedStream(), "-o", "/dev/null", "-f"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        var status = stat()
        #expect(lstat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
    }

    /// A small stream of the fixture, in a scratch file the caller need not remove (tmp).
    func encodedStream() throws -> String {
        let path = scratch("e.pane")
        let r = try CLI.run(["encode", input, "-o", path, "-q", "40"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return path
    }
}

/// `--metadata` on the command line: kept by default, stripped with none, listed by info.
@Suite struct MetadataCLITests {
    static let input = CLI.root.appendingPathComponent("Tests/PaneImageIOTests/Fixtures/metadata/all.jpg").path

    func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pane-meta-\(UUID().uuidString)-\(name)").path
    }

    func chunks(_ path: String) throws -> [String] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        return ["iCCP", "eXIf", "iTXt"].filter { bytes.firstRange(of: Array($0.utf8)) != nil }
    }

    @Test(arguments: [("all", ["iCCP", "eXIf", "iTXt"]), ("icc", ["iCCP"]), ("none", [])])
    func metadataChoice(_ choice: String, _ expected: [String]) throws {
        let stream = scratch("s.pane"), png = scratch("d.png")
        defer { unlink(stream); unlink(png) }
        let e = try CLI.run(["encode", Self.input, "-o", stream, "--metadata", choice])
        #expect(e.status == 0, "stderr: \(e.stderr)")
        #expect(try CLI.run(["decode", stream, "-o", png]).status == 0)
        #expect(try chunks(png) == expected)
        let info = try CLI.run(["info", stream, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        let listed = (obj?["metadata"] as? [String: Any])?.keys.sorted() ?? []
        #expect(listed == ["exif", "icc", "xmp"].filter { expected.contains(["icc": "iCCP", "exif": "eXIf", "xmp": "iTXt"][$0]!) })
    }

    @Test func ppmOutputSaysWhatItDrops() throws {
        let stream = scratch("s.pane"), ppm = scratch("d.ppm")
        defer { unlink(stream); unlink(ppm) }
        #expect(try CLI.run(["encode", Self.input, "-o", stream]).status == 0)
        let d = try CLI.run(["decode", stream, "-o", ppm])
        #expect(d.status == 0 && d.stderr.contains("PPM holds no metadata"), "stderr: \(d.stderr)")
    }
}

/// Outputs by extension, and notices for what reading changes.
@Suite struct HonestFormatCLITests {
    @Test func unknownOutputExtensionIsRefusedNamingTheKnownOnes() throws {
        let stream = CLI.root.appendingPathComponent("Tests/PaneModelTests/Fixtures/releases/pane-121k.pane").path
        for output in ["/tmp/pane-x.webp", "/tmp/pane-noext"] {
            let r = try CLI.run(["decode", stream, "-o", output])
            #expect(r.status != 0 && r.stderr.contains(".png, .jpg"), "stderr: \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        let p = try CLI.run(["preview", CLI.fixtures.appendingPathComponent("small.png").path, "-o", "/tmp/pane-x.ppm"])
        #expect(p.status != 0 && p.stderr.contains(".png, .jpg"))
    }

    @Test func sixteenBitInputIsNoted() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pane-16-\(UUID().uuidString).pane").path
        defer { unlink(out) }
        let input = CLI.root.appendingPathComponent("Tests/PaneImageIOTests/Fixtures/rgb16.png").path
        let r = try CLI.run(["encode", input, "-o", out])
        #expect(r.status == 0 && r.stderr.contains("16-bit samples reduced to 8 bits"), "stderr: \(r.stderr)")
    }
}

/// One-line errors and warnings for the smaller cases (issue: "Files stay decodable and safe").
@Suite struct SmallCasesCLITests {
    let input = CLI.fixtures.appendingPathComponent("small.png").path

    @Test func negativeQualityIsARangeError() throws {
        let r = try CLI.run(["encode", input, "-o", "/dev/null", "-f", "-q", "-5"])
        #expect(r.status != 0 && r.stderr.contains("within 0…100, got -5"), "stderr: \(r.stderr)")
    }

    @Test func hugeSizeIsARangeError() throws {
        let r = try CLI.run(["encode", input, "-o", "/dev/null", "-f", "--size", "9223372036854775807"])
        #expect(r.status == 64 && r.stderr.contains("--size must be within"), "status \(r.status): \(r.stderr)")
    }

    @Test func unreachableSizeWarnsOrFailsWithStrict() throws {
        let warned = try CLI.run(["encode", input, "-o", "/dev/null", "-f", "--size", "64"])
        #expect(warned.status == 0 && warned.stderr.contains("warning:") && warned.stderr.contains("over the target of 64"),
                "stderr: \(warned.stderr)")
        let strict = try CLI.run(["encode", input, "-o", "/dev/null", "-f", "--size", "64", "--strict"])
        #expect(strict.status != 0 && strict.stderr.contains("over the target of 64"))
    }

    @Test func modelDirectoryIsOneLineError() throws {
        let r = try CLI.run(["encode", input, "-o", "/dev/null", "-f", "--model", "/tmp/"])
        #expect(r.status != 0 && r.stderr.split(separator: "\n").count == 1 && !r.stderr.contains("NSCocoaErrorDomain"),
                "stderr: \(r.stderr)")
    }

    @Test func rdIntoAFileIsRefusedBeforeAnyWork() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pane-rd-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { unlink(file) }
        let r = try CLI.run(["rd", input, "-o", file, "--codecs", "pane", "--qualities", "50"])
        #expect(r.status != 0 && r.stderr.contains("is not a directory") && !r.stderr.contains("NSCocoaErrorDomain"),
                "stderr: \(r.stderr)")
    }
}
