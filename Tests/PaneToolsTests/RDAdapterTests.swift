import Foundation
import PaneImageIO
import PaneMetrics
import Testing
@testable import PaneTools

/// True when the codec's tools are installed (the adapter tests below run only then, and show as skipped otherwise).
func available(_ codec: String) -> Bool {
    guard case .success = try? CommandLineRDCodec.make(codec) else { return false }
    return true
}

@Suite struct RDAdapterTests {
    @Test func missingToolsMakeTheCodecUnavailable() throws {
        for name in CommandLineRDCodec.names {
            guard case let .failure(unavailable) = try CommandLineRDCodec.make(name, path: "/nonexistent") else {
                Issue.record("\(name) is available without tools")
                continue
            }
            #expect(unavailable.codec == name)
            #expect(unavailable.description.hasPrefix("skipping \(name): "))
            #expect(unavailable.reason.hasSuffix("not found on PATH"))
        }
        if case let .failure(webp) = try CommandLineRDCodec.make("webp", path: "/nonexistent") {
            #expect(webp.reason == "cwebp, dwebp not found on PATH")
        }
        #expect(throws: RDError.unknownCodec("bpg", known: CommandLineRDCodec.names)) { try CommandLineRDCodec.make("bpg") }
    }

    @Test func toolFailureCarriesStatusAndMessage() throws {
        let sh = try #require(ExternalTool("sh"))
        let directory = FileManager.default.temporaryDirectory
        #expect(throws: RDError.toolFailed(tool: "sh", status: 3, message: "boom")) {
            try sh.run(["-c", "echo starting; echo boom >&2; exit 3"], in: directory)
        }
        let output = try sh.run(["-c", "echo hello"], in: directory)
        #expect(output.stdout == "hello\n" && output.seconds >= 0)
        #expect(ExternalTool("no-such-tool-here") == nil)
        #expect(ExternalTool("/bin/sh")?.url.path == "/bin/sh")
    }

    @Test func toolPastItsTimeLimitIsStopped() throws {
        let sh = try #require(ExternalTool("sh"))
        let start = Date()
        #expect(throws: RDError.toolTimedOut(tool: "sh", seconds: 0.3)) {
            try sh.run(["-c", "sleep 30"], in: FileManager.default.temporaryDirectory, timeout: 0.3)
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// Codes parrot.png with a codec's tools at one setting and checks what comes back.
    func codeParrot(_ name: String, setting: Double, minimumPSNR: Double) throws {
        let codec = try CommandLineRDCodec.make(name).get()
        #expect(codec.settings.contains(setting))
        let image = try Image(contentsOfFile: RDFixture.path("parrot.png"))
        let results = RDSweep(codecs: [codec]).run([RDImageFile(path: RDFixture.path("parrot.png"), name: "parrot.png")])
        #expect(results.failures.isEmpty, "\(results.failures)")
        #expect(results.measurements.count == codec.settings.count)
        let m = try #require(results.measurements.first { $0.setting == setting })
        #expect(m.width == image.width && m.height == image.height)
        #expect(m.bytes > 100 && m.bytes < image.pixels.count)
        #expect(m.psnr > minimumPSNR && m.psnr < 60, "\(name) PSNR \(m.psnr)")
        #expect(m.msssim != nil)
        #expect(m.encodeSeconds > 0 && m.decodeSeconds > 0)
        // Rate rises with quality (falls with distance or quantizer) over the sweep.
        let rates = codec.settings.map { s in results.measurements.first { $0.setting == s }!.bytes }
        let ascending = ["webp"].contains(name)
        #expect(rates.first! != rates.last! && (rates.first! < rates.last!) == ascending)
        #expect(!codec.version.isEmpty)
    }

    @Test(.enabled(if: available("webp"))) func webpThroughCwebp() throws {
        try codeParrot("webp", setting: 75, minimumPSNR: 30)
    }

    @Test(.enabled(if: available("avif"))) func avifThroughAvifenc() throws {
        try codeParrot("avif", setting: 32, minimumPSNR: 30)
    }

    @Test(.enabled(if: available("jxl"))) func jxlThroughCjxl() throws {
        try codeParrot("jxl", setting: 2, minimumPSNR: 30)
    }

    @Test(.enabled(if: available("hevc"))) func hevcThroughFFmpeg() throws {
        try codeParrot("hevc", setting: 30, minimumPSNR: 30)
    }
}
