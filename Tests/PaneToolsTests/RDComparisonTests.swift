import Foundation
import Testing
@testable import PaneTools

/// Files under Tests/PaneToolsTests/Fixtures used by the RD tests.
enum RDFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let root = directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A curve through (bpp, PSNR) points; MS-SSIM chosen so its dB equals the PSNR / 2.
    static func curve(_ codec: String, _ points: [(Double, Double)], anchor: Bool = false) -> RDCurve {
        RDCurve(codec: codec, parameter: "quality", isAnchor: anchor, points: points.enumerated().map { i, p in
            RDPoint(setting: Double(i), images: 1, bpp: p.0, psnr: p.1, msssim: 1 - pow(10, -p.1 / 20))
        })
    }
}

@Suite struct RDComparisonTests {
    let reference = RDFixture.curve("jpeg", [(0.2, 28), (0.4, 31), (0.8, 34), (1.6, 37)])

    @Test func identicalCurvesHaveZeroBDRate() throws {
        for metric in RDMetric.allCases {
            let rate = try #require(RDComparison.bdRate(reference, against: reference, metric: metric))
            #expect(abs(rate) < 1e-9)
        }
    }

    @Test func halfTheRateIsMinusFiftyPercent() throws {
        let half = RDFixture.curve("pane", reference.points.map { ($0.bpp / 2, $0.psnr) })
        for metric in RDMetric.allCases {
            #expect(abs(try #require(RDComparison.bdRate(half, against: reference, metric: metric)) + 50) < 1e-9)
            #expect(abs(try #require(RDComparison.bdRate(reference, against: half, metric: metric)) - 100) < 1e-9)
        }
    }

    @Test func curvesThatDoNotOverlapHaveNoBDRate() {
        let better = RDFixture.curve("pane", [(0.2, 40), (0.4, 42), (0.8, 44)])
        #expect(RDComparison.bdRate(better, against: reference) == nil)
        let table = RDComparison.bdTable([reference, better])
        #expect(table[0][0] == 0 && table[1][1] == 0)
        #expect(table[0][1] == nil && table[1][0] == nil)
        let report = RDReport(results: RDResults(images: [], measurements: [], failures: []),
                              codecs: [], anchors: [reference, better])
        #expect(report.bdMarkdown(.psnr).contains("| jpeg | +0.0% | n/a |"))
        #expect(RDReport.percent(-0.04) == "+0.0%" && RDReport.percent(-4) == "-4.0%" && RDReport.percent(12.345) == "+12.3%")
    }

    /// Points beyond 0.1…2 bpp do not count: adding far-away points with another slope changes nothing.
    @Test func bdRateUsesPointsWithinTheRange() throws {
        let test = RDFixture.curve("webp", [(0.15, 28.5), (0.3, 31.5), (0.6, 34.5), (1.2, 37.5)])
        let extended = RDFixture.curve("webp", [(0.05, 10), (0.15, 28.5), (0.3, 31.5), (0.6, 34.5), (1.2, 37.5), (3.5, 60)])
        let plain = try #require(RDComparison.bdRate(test, against: reference))
        #expect(abs(try #require(RDComparison.bdRate(extended, against: reference)) - plain) < 1e-12)
        #expect(plain < 0)
    }

    @Test func qualityAtRateIsLinearInLogRate() throws {
        // Halfway between 0.2 and 0.8 in log(bpp) is 0.4; a quarter of the way from 0.4 to 0.8 is 0.4·2^¼.
        let curve = RDFixture.curve("jpeg", [(0.2, 28), (0.8, 34), (1.6, 36)])
        #expect(abs(try #require(RDComparison.quality(of: curve, at: 0.4)) - 31) < 1e-9)
        #expect(abs(try #require(RDComparison.quality(of: curve, at: 0.2 * pow(2, 0.5))) - 29.5) < 1e-9)
        #expect(abs(try #require(RDComparison.quality(of: curve, at: 1.6)) - 36) < 1e-12)
        #expect(abs(try #require(RDComparison.quality(of: curve, at: 0.2)) - 28) < 1e-12)
        #expect(RDComparison.quality(of: curve, at: 0.19) == nil)
        #expect(RDComparison.quality(of: curve, at: 1.7) == nil)
        #expect(abs(try #require(RDComparison.quality(of: curve, at: 0.4, metric: .msssim)) - 15.5) < 1e-9)
    }

    /// The anchors' own tables (anchors/README.md) come out of their curves file: PSNR at fixed
    /// rates to the printed 0.01 dB, BD-rates to the printed 0.1 %.
    @Test func anchorsTablesAreReproduced() throws {
        let (curves, notes) = try Anchors.load(RDFixture.path("anchors/kodak_classical_curves.csv"), images: [])
        #expect(notes.isEmpty)
        #expect(curves.map(\.codec) == ["jpeg", "webp", "jxl", "avif", "bpg", "hevc"])
        #expect(curves.allSatisfy { $0.isAnchor })
        let byName = Dictionary(uniqueKeysWithValues: curves.map { ($0.codec, $0) })
        let printed: [String: [Double]] = [
            "jpeg": [26.52, 29.61, 31.46, 32.88], "webp": [28.60, 31.46, 33.60, 35.27], "jxl": [27.95, 30.97, 33.24, 34.90],
            "avif": [29.93, 32.94, 35.08, 36.81], "bpg": [30.23, 33.23, 35.39, 37.10], "hevc": [30.23, 33.26, 35.41, 37.14],
        ]
        for (codec, values) in printed {
            for (rate, value) in zip(RDComparison.reportedRates, values) {
                let q = try #require(RDComparison.quality(of: byName[codec]!, at: rate))
                #expect(abs(q - value) <= 0.005 + 1e-9, "\(codec) at \(rate): \(q)")
            }
        }
        let versusJPEG: [String: Double] = ["webp": -34.6, "jxl": -28.0, "avif": -52.5, "bpg": -55.3, "hevc": -55.1]
        let versusBPG: [String: Double] = ["jpeg": 123.7, "webp": 41.8, "jxl": 58.6, "avif": 6.7, "hevc": -0.4]
        for (codec, value) in versusJPEG {
            let bd = try #require(RDComparison.bdRate(byName[codec]!, against: byName["jpeg"]!))
            #expect(abs(bd - value) <= 0.05 + 1e-9, "\(codec) vs jpeg: \(bd)")
        }
        for (codec, value) in versusBPG {
            let bd = try #require(RDComparison.bdRate(byName[codec]!, against: byName["bpg"]!))
            #expect(abs(bd - value) <= 0.05 + 1e-9, "\(codec) vs bpg: \(bd)")
        }
    }

    /// Per-image anchors are averaged over exactly the images of the sweep.
    @Test func perImageAnchorsAverageOverTheSweepImages() throws {
        let (curves, notes) = try Anchors.load(RDFixture.path("anchors/per-image"), images: ["kodim01.png", "sub/kodim02.png"])
        #expect(curves.map(\.codec) == ["jpeg", "webp"])
        let webp = try #require(curves.first { $0.codec == "webp" })
        // Settings 5…40 cover both images; 45 has kodim01 only and is left out with a note.
        #expect(webp.points.map(\.setting) == [5, 10, 15, 20, 25, 30, 35, 40])
        #expect(notes == ["anchor webp: settings 45 do not cover every image, left out"])
        let q5 = try #require(webp.points.first { $0.setting == 5 })
        #expect(q5.images == 2)
        #expect(abs(q5.bpp - (0.320353 + 0.109049) / 2) < 1e-12)
        #expect(abs(q5.psnr - (25.9571 + 29.3414) / 2) < 1e-12)
        #expect(abs(q5.msssim! - (0.925760 + 0.884623) / 2) < 1e-12)

        let single = try Anchors.load(RDFixture.path("anchors/per-image"), images: ["kodim01.png"])
        #expect(single.curves.first { $0.codec == "webp" }?.points.count == 9)
        let none = try Anchors.load(RDFixture.path("anchors/per-image"), images: ["holiday.png"])
        #expect(none.curves.isEmpty && none.notes == ["the anchors hold no curve for these images"])
    }

    @Test func badAnchorsAreRefused() throws {
        #expect(throws: RDError.badAnchors(path: "/nonexistent/anchors.csv", reason: "no such file or directory")) {
            try Anchors.load("/nonexistent/anchors.csv", images: [])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pane-rd-anchors-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: file) }
        try "codec,quality_param,n_images,avg_bpp\nwebp,5,24,0.2\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: RDError.badAnchors(path: file.path, reason: "no column 'avg_psnr_rgb'")) {
            try Anchors.load(file.path, images: [])
        }
    }

    /// Settings measured on fewer than all images stay out of the averages, with a note.
    @Test func averagesKeepOnlyCompleteSettings() throws {
        func row(_ setting: Double, _ image: String, bytes: Int, psnr: Double, msssim: Double?) -> RDMeasurement {
            RDMeasurement(codec: "jpeg", setting: setting, image: image, width: 10, height: 10, bytes: bytes,
                          psnr: psnr, msssim: msssim, encodeSeconds: 1, decodeSeconds: 3)
        }
        let rows = [row(50, "a", bytes: 50, psnr: 30, msssim: 0.9), row(50, "b", bytes: 100, psnr: 34, msssim: nil),
                    row(90, "a", bytes: 200, psnr: 40, msssim: 0.99)]
        let (curves, notes) = RDCurve.averages(of: rows, codecs: [("jpeg", "quality")], imageCount: 2)
        #expect(notes == ["jpeg quality 90: measured on 1 of 2 images, left out of the averages"])
        let point = try #require(curves.first?.points.first)
        #expect(curves.count == 1 && curves[0].points.count == 1)
        #expect(point.bpp == 6 && point.psnr == 32 && point.msssim == 0.9)
        #expect(point.medianEncodeSeconds == 1 && point.medianDecodeSeconds == 3)
        #expect(abs(point.msssimDB! - 10) < 1e-9)
    }
}
