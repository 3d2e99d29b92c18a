import Foundation
import Pane
import PaneImageIO
import PaneMetrics
import Testing
@testable import PaneTools

/// A codec that stores the image losslessly as PNG and fails on a chosen setting.
struct LosslessStubCodec: RDCodec {
    var name = "stub"
    var parameter = "level"
    var settings: [Double] = [1, 2, 3]
    var failing: Double? = 2
    var version: String { "stub 1.0" }

    struct Refused: Error, CustomStringConvertible {
        var description: String { "refused on purpose" }
    }

    func session(for source: RDSource) throws -> any RDSession { Session(codec: self, source: source) }

    final class Session: RDSession {
        let codec: LosslessStubCodec
        let source: RDSource
        init(codec: LosslessStubCodec, source: RDSource) {
            self.codec = codec
            self.source = source
        }

        func code(setting: Double) throws -> RDTrial {
            if setting == codec.failing { throw Refused() }
            let bytes = try Data(contentsOf: source.png)
            return RDTrial(bytes: bytes.count * Int(setting), decoded: try Image(decoding: bytes), encodeSeconds: 0.001, decodeSeconds: 0.002)
        }
    }
}

@Suite(.serialized) struct RDSweepTests {
    static let images = [RDImageFile(path: RDFixture.path("parrot.png"), name: "parrot.png"),
                         RDImageFile(path: RDFixture.path("small.png"), name: "small.png")]
    static let codec = Result { try Codec(modelURL: RDFixture.root.appendingPathComponent("Models/pane.json")) }

    /// Pane at two qualities and JPEG at two on a 176×168 and a 96×80 image: every number in the
    /// CSV and JSON is checked against an encode, decode and measurement done here.
    @Test func paneAndJPEGReport() throws {
        let codec = try Self.codec.get()
        let sweep = RDSweep(codecs: [PaneRDCodec(codec: codec, qualities: [20, 80]), JPEGRDCodec(qualities: [50, 90])], jobs: 2)
        let events = EventLog()
        let results = sweep.run(Self.images) { events.append($0) }
        #expect(results.failures.isEmpty)
        #expect(results.images == Self.images)
        #expect(results.measurements.count == 8)
        #expect(events.trials == 8 && events.imagesDone == ["parrot.png", "small.png"])

        let report = RDReport(results: results, codecs: [RDReport.CodecInfo(name: "pane", parameter: "quality", version: "p"),
                                                         RDReport.CodecInfo(name: "jpeg", parameter: "quality", version: "j")])
        // CSV: header, then images in input order, codecs in sweep order, settings in order.
        let lines = report.csv().split(separator: "\n").map(String.init)
        #expect(lines.first == RDReport.csvHeader)
        #expect(lines.count == 9)
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.map { "\($0[0]) \($0[1]) \($0[2])" } == [
            "pane 20 parrot.png", "pane 80 parrot.png", "jpeg 50 parrot.png", "jpeg 90 parrot.png",
            "pane 20 small.png", "pane 80 small.png", "jpeg 50 small.png", "jpeg 90 small.png",
        ])
        for row in rows {
            let image = try Image(contentsOfFile: RDFixture.path(row[2]))
            #expect(Int(row[3]) == image.width && Int(row[4]) == image.height)
            let quality = Double(row[1])!
            let decoded: Image
            let bytes: Int
            if row[0] == "pane" {
                let encoded = try codec.encode(image, quality: quality)
                bytes = encoded.bytes.count
                decoded = try codec.decode(encoded.bytes)
            } else {
                let data = try image.encoded(as: .jpeg(JPEGOptions(quality: Int(quality), subsampling: .yuv420, optimizeCoding: true)))
                bytes = data.count
                decoded = try Image(decoding: data)
            }
            #expect(Int(row[5]) == bytes, "\(row)")
            #expect(abs(Double(row[6])! - Double(bytes * 8) / Double(image.width * image.height)) < 5e-7)
            #expect(abs(Double(row[7])! - (try psnr(image, decoded))) < 5e-5)
            if image.width > 160 && image.height > 160 {
                #expect(abs(Double(row[8])! - (try msSSIM(image, decoded))) < 5e-7)
            } else {
                #expect(row[8].isEmpty)
            }
            #expect(Double(row[9])! > 0 && Double(row[10])! > 0)
        }

        // JSON: the averages of those rows.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(json["images"] as? Int == 2 && json["msssim_images"] as? Int == 1)
        let curves = try #require(json["curves"] as? [[String: Any]])
        #expect(curves.map { $0["codec"] as? String } == ["pane", "jpeg"])
        for curve in curves {
            let points = try #require(curve["points"] as? [[String: Any]])
            #expect(points.count == 2)
            for point in points {
                let setting = try #require(point["setting"] as? Double)
                let mine = rows.filter { $0[0] == curve["codec"] as? String && Double($0[1]) == setting }
                #expect(mine.count == 2 && point["images"] as? Int == 2)
                let bpp = mine.map { Double($0[6])! }.reduce(0, +) / 2
                let meanPSNR = mine.map { Double($0[7])! }.reduce(0, +) / 2
                #expect(abs((point["bpp"] as? Double ?? 0) - bpp) < 2e-6)
                #expect(abs((point["psnr"] as? Double ?? 0) - meanPSNR) < 2e-4)
                let ms = Double(mine.first { !$0[8].isEmpty }![8])!
                #expect(abs((point["msssim"] as? Double ?? 0) - ms) < 2e-6)
                #expect(abs((point["msssim_db"] as? Double ?? 0) + 10 * log10(1 - ms)) < 2e-3)
            }
        }
        let bd = try #require(json["bd_rate_psnr"] as? [String: [String: Any]])
        #expect(bd["pane"]?["pane"] as? Double == 0)

        // The five files.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pane-rd-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try report.write(to: directory)
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(written == ["rd-msssim.svg", "rd-psnr.svg", "rd.csv", "rd.json", "summary.md"])
        #expect(try String(contentsOf: directory.appendingPathComponent("rd.csv"), encoding: .utf8) == report.csv())
        let summary = try String(contentsOf: directory.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("## BD-rate on PSNR-RGB") && summary.contains("## BD-rate on MS-SSIM (dB)"))
        #expect(summary.contains("| pane | +0.0% |"))
    }

    /// One failing setting is reported and left out of the averages; an unreadable image is skipped.
    @Test func failuresAreReportedAndLeftOut() throws {
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("pane-rd-broken-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: broken) }
        try Data("not a png".utf8).write(to: broken)
        let files = Self.images + [RDImageFile(path: broken.path, name: "broken.png")]
        let events = EventLog()
        let results = RDSweep(codecs: [LosslessStubCodec()]).run(files) { events.append($0) }
        #expect(results.images == Self.images)
        #expect(results.measurements.map(\.setting) == [1, 3, 1, 3])
        #expect(results.measurements.allSatisfy { $0.psnr == .infinity })
        #expect(results.failures.count == 3)
        #expect(results.failures.contains("stub level 2 on small.png: refused on purpose"))
        #expect(results.failures.contains { $0.hasPrefix(broken.path + ": ") })
        #expect(events.failures == results.failures.count)
        let report = RDReport(results: results, codecs: [RDReport.CodecInfo(name: "stub", parameter: "level", version: "")])
        #expect(report.measured.first?.points.map(\.setting) == [1, 3])
        #expect(report.markdown().contains("- stub level 2 on parrot.png: refused on purpose"))
    }

    @Test func inputsAreCollectedRecursively() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pane-rd-inputs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let png = try Data(contentsOf: URL(fileURLWithPath: RDFixture.path("small.png")))
        for name in ["b.png", "a10.png", "a9.PNG", "sub/deeper/c.jpeg", "notes.txt"] {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try png.write(to: url)
        }
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link.png").path,
                                                   withDestinationPath: RDFixture.path("parrot.png"))
        let files = try RDImageFile.collect([root.path, RDFixture.path("parrot.png")])
        #expect(files.map(\.name) == ["a9.PNG", "a10.png", "b.png", "link.png", "sub/deeper/c.jpeg", "parrot.png"])
        #expect(files[4].path == root.appendingPathComponent("sub/deeper/c.jpeg").standardizedFileURL.path)
        #expect(throws: RDError.missingInput("/nonexistent/dir")) { try RDImageFile.collect(["/nonexistent/dir"]) }
        let empty = root.appendingPathComponent("sub/empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: RDError.noImages([empty.path])) { try RDImageFile.collect([empty.path]) }
    }

    /// The estimate uses each codec's own pace.
    @Test func progressEstimatesFromEachCodecsPace() throws {
        let sweep = RDSweep(codecs: [LosslessStubCodec(name: "slow", settings: [1, 2]), LosslessStubCodec(name: "fast", settings: [1, 2, 3])])
        let progress = RDProgress(sweep: sweep, images: 4)
        #expect(progress.total == 20)
        #expect(progress.secondsLeft == nil && progress.line().contains("ETA --"))
        progress.record(.trial(codec: "slow", setting: 1, image: "a", seconds: 10))
        #expect(progress.secondsLeft == nil)
        progress.record(.trial(codec: "fast", setting: 1, image: "a", seconds: 0.5))
        progress.record(.image(name: "a", seconds: 11))
        // 7 slow trials at 10 s and 11 fast ones at 0.5 s.
        #expect(abs(progress.secondsLeft! - 75.5) < 1e-9)
        #expect(progress.line(barWidth: 10) == "[#---------]  10%  2/20  ETA 1m16s  fast 1 a")
        #expect(RDProgress.duration(3725) == "1h02m" && RDProgress.duration(59.4) == "59s")
    }
}

/// Events of a sweep, collected across worker threads.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RDEvent] = []

    func append(_ event: RDEvent) { lock.withLock { events.append(event) } }

    var trials: Int { lock.withLock { events.filter { if case .trial = $0 { return true } else { return false } }.count } }
    var failures: Int { lock.withLock { events.filter { if case .failure = $0 { return true } else { return false } }.count } }
    var imagesDone: [String] {
        lock.withLock { events.compactMap { if case let .image(name, _) = $0 { return name } else { return nil } }.sorted() }
    }
}
