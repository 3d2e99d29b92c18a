import Foundation
import PaneImageIO

/// The files `pane rd` writes: `rd.csv` (per image), `rd.json` (averages), `rd-psnr.svg`,
/// `rd-msssim.svg` and `summary.md` (BD-rates and PSNR at fixed rates).
public struct RDReport: Sendable {
    /// A codec of the sweep as the report describes it.
    public struct CodecInfo: Sendable {
        public let name: String
        public let parameter: String
        public let version: String

        public init(name: String, parameter: String, version: String) {
            self.name = name
            self.parameter = parameter
            self.version = version
        }
    }

    public let results: RDResults
    public let codecs: [CodecInfo]
    /// Measured curves, in sweep order.
    public let measured: [RDCurve]
    /// Reference curves from `--anchors`.
    public let anchors: [RDCurve]
    /// Where the anchors came from, for the summary.
    public let anchorSource: String?
    /// Things left out, one line each.
    public let notes: [String]
    /// What the images are called in titles ("kodak", "3 images").
    public let setName: String
    /// The command line, for the summary.
    public let command: String?

    public init(results: RDResults, codecs: [CodecInfo], anchors: [RDCurve] = [], anchorSource: String? = nil,
                notes: [String] = [], setName: String? = nil, command: String? = nil) {
        let (measured, averagingNotes) = RDCurve.averages(of: results.measurements, codecs: codecs.map { ($0.name, $0.parameter) },
                                                          imageCount: results.images.count)
        self.results = results
        self.codecs = codecs
        self.measured = measured
        self.anchors = anchors
        self.anchorSource = anchorSource
        self.notes = notes + results.failures + averagingNotes
        self.setName = setName ?? "\(results.images.count) image\(results.images.count == 1 ? "" : "s")"
        self.command = command
    }

    /// Measured curves, then the anchors.
    public var curves: [RDCurve] { measured + anchors }

    /// Images large enough for MS-SSIM.
    var msssimImageCount: Int {
        Set(results.measurements.filter { $0.msssim != nil }.map(\.image)).count
    }

    /// Writes the five files into `directory` (created if needed), each atomically.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = [("rd.csv", csv()), ("rd.json", json()), ("rd-psnr.svg", plot(.psnr)),
                     ("rd-msssim.svg", plot(.msssim)), ("summary.md", markdown())]
        for (name, text) in files {
            try FileIO.writeAtomically(Data(text.utf8), to: directory.appendingPathComponent(name).path)
        }
    }

    // MARK: CSV

    public static let csvHeader = "codec,quality_param,image,width,height,bytes,bpp,psnr_rgb,msssim_rgb,enc_s,dec_s"

    /// One row per image, codec and setting; columns as the anchors' per-image files, plus the size.
    public func csv() -> String {
        var lines = [Self.csvHeader]
        for m in results.measurements {
            lines.append([m.codec, settingText(m.setting), Self.csvField(m.image), String(m.width), String(m.height),
                          String(m.bytes), fixed(m.bpp, 6), fixed(m.psnr, 4), m.msssim.map { fixed($0, 6) } ?? "",
                          fixed(m.encodeSeconds, 6), fixed(m.decodeSeconds, 6)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: JSON

    /// Averages per codec and setting, and the BD-rate tables.
    public func json() -> String {
        let curveObjects = curves.map { curve -> JSONText in
            let version = codecs.first { $0.name == curve.codec && !curve.isAnchor }?.version
            return .object([
                ("codec", .string(curve.codec)), ("parameter", .string(curve.parameter)), ("anchor", .bool(curve.isAnchor)),
                ("version", version.map(JSONText.string) ?? .null),
                ("points", .array(curve.points.map { p in
                    .object([("setting", .number(p.setting, 4)), ("images", .integer(p.images)),
                             ("bpp", .number(p.bpp, 6)), ("psnr", .number(p.psnr, 4)),
                             ("msssim", .number(p.msssim, 6)), ("msssim_db", .number(p.msssimDB, 4)),
                             ("median_enc_s", .number(p.medianEncodeSeconds, 4)),
                             ("median_dec_s", .number(p.medianDecodeSeconds, 4))])
                })),
            ])
        }
        let tables = RDMetric.allCases.map { metric -> (String, JSONText) in
            let table = RDComparison.bdTable(curves, metric: metric)
            return ("bd_rate_\(metric.rawValue)", .object(zip(curves, table).map { test, row in
                (test.label, .object(zip(curves, row).map { ($0.label, .number($1, 2)) }))
            }))
        }
        let root = JSONText.object([
            ("images", .integer(results.images.count)),
            ("msssim_images", .integer(msssimImageCount)),
            ("curves", .array(curveObjects)),
        ] + tables)
        return root.rendered() + "\n"
    }

    // MARK: Plots

    static let colours = ["pane": "#d62728", "jpeg": "#1f77b4", "webp": "#2ca02c", "avif": "#9467bd",
                          "jxl": "#ff7f0e", "hevc": "#8c564b", "bpg": "#e377c2"]
    static let spareColours = ["#17becf", "#bcbd22", "#7f7f7f", "#393b79"]

    /// bpp on x (0 to the measured curves' largest rate, at most 2), the metric on y.
    public func plot(_ metric: RDMetric) -> String {
        var spare = Self.spareColours.makeIterator()
        var assigned: [String: String] = [:]
        let series = curves.map { curve -> SVGPlot.Series in
            let colour = Self.colours[curve.codec] ?? assigned[curve.codec] ?? spare.next() ?? "#000000"
            assigned[curve.codec] = colour
            return SVGPlot.Series(label: curve.label, points: curve.points.compactMap { p in metric.value(p).map { (p.bpp, $0) } },
                                  colour: colour, dashed: curve.isAnchor, emphasised: curve.codec == "pane" && !curve.isAnchor)
        }.filter { !$0.points.isEmpty }
        let rates = (measured.isEmpty ? anchors : measured).flatMap { $0.points.map(\.bpp) }
        let xMax = min(rates.max() ?? 1, RDComparison.bdRange.upperBound)
        var title = "\(metric == .psnr ? "PSNR-RGB" : "MS-SSIM") vs rate on \(setName)"
        if series.isEmpty { title += " (no image large enough for MS-SSIM)" }
        let plot = SVGPlot(title: title, xLabel: "bits per pixel",
                           yLabel: metric == .psnr ? "PSNR-RGB (dB)" : "MS-SSIM (dB), −10·log10(1 − MS-SSIM)",
                           xRange: 0...max(xMax, 0.1))
        return plot.render(series)
    }

    // MARK: Markdown

    public func markdown() -> String {
        var md = "# Rate–distortion: \(setName)\n\n"
        let n = results.images.count
        md += "\(n) image\(n == 1 ? "" : "s"); each codec's PSNR-RGB and MS-SSIM are averaged over the images at each setting; "
        md += "bpp = bytes × 8 / pixels, averaged likewise. MS-SSIM covers the \(msssimImageCount) image"
        md += "\(msssimImageCount == 1 ? "" : "s") with both sides over 160 pixels.\n\n"
        if let command { md += "```\n\(command)\n```\n\n" }
        md += "![PSNR-RGB against bpp](rd-psnr.svg)\n\n![MS-SSIM against bpp](rd-msssim.svg)\n\n"

        md += "## Codecs\n\n| codec | setting | points | bpp range | encode / decode near 0.5 bpp (median) | coder |\n|---|---|---|---|---|---|\n"
        for curve in curves {
            let settings = curve.points.map(\.setting).sorted()
            let rates = curve.points.map(\.bpp)
            let nearHalf = curve.points.min { abs($0.bpp - 0.5) < abs($1.bpp - 0.5) }
            let times = nearHalf.flatMap { p in
                p.medianEncodeSeconds.flatMap { e in p.medianDecodeSeconds.map { d in "\(ms(e)) / \(ms(d))" } }
            } ?? ""
            let coder = curve.isAnchor ? "anchors" : (codecs.first { $0.name == curve.codec }?.version ?? "")
            md += "| \(curve.label) | \(curve.parameter) \(settingText(settings.first ?? 0))…\(settingText(settings.last ?? 0)) "
            md += "| \(curve.points.count) | \(fixed(rates.min() ?? 0, 3))–\(fixed(rates.max() ?? 0, 3)) | \(times) | \(coder) |\n"
        }

        md += "\n## PSNR-RGB (dB) at fixed rates\n\nLinear in log(bpp) between the measured points around each rate; "
        md += "blank outside a codec's measured range.\n\n"
        md += "| codec | " + RDComparison.reportedRates.map { "\(fixed($0, 2)) bpp" }.joined(separator: " | ") + " |\n"
        md += "|---|" + String(repeating: "---|", count: RDComparison.reportedRates.count) + "\n"
        for curve in curves {
            let values = RDComparison.reportedRates.map { RDComparison.quality(of: curve, at: $0).map { fixed($0, 2) } ?? "" }
            md += "| \(curve.label) | " + values.joined(separator: " | ") + " |\n"
        }

        for metric in RDMetric.allCases {
            md += "\n## BD-rate on \(metric == .psnr ? "PSNR-RGB" : "MS-SSIM (dB)")\n\n"
            md += "Each row against each column: the average rate difference at equal \(metric == .psnr ? "PSNR" : "MS-SSIM dB") "
            md += "(negative: the row needs fewer bits). n/a: the curves' quality ranges do not overlap.\n\n"
            md += bdMarkdown(metric)
        }

        md += "\n## Method\n\n"
        md += "- BD-rate: Bjøntegaard delta rate (VCEG-M33) with piecewise-cubic (PCHIP) interpolation of log-rate over the "
        md += "quality range both curves cover, on the points between \(fixed(RDComparison.bdRange.lowerBound, 1)) and "
        md += "\(fixed(RDComparison.bdRange.upperBound, 1)) bpp, as in the anchors (PaneMetrics `bdRate`).\n"
        md += "- MS-SSIM (dB) is −10·log10(1 − MS-SSIM) of the mean MS-SSIM at each setting.\n"
        md += "- Images are coded without their alpha plane, if any: the metrics compare colour only.\n"
        md += "- Times are wall-clock per image, whole process for command-line coders; Pane's encode includes the analysis transform.\n"
        if let anchorSource { md += "- Anchors (dashed in the plots): \(anchorSource).\n" }
        if !notes.isEmpty {
            md += "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined()
        }
        return md
    }

    func bdMarkdown(_ metric: RDMetric) -> String {
        let table = RDComparison.bdTable(curves, metric: metric)
        var md = "| row vs column | " + curves.map(\.label).joined(separator: " | ") + " |\n"
        md += "|---|" + String(repeating: "---:|", count: curves.count) + "\n"
        for (curve, row) in zip(curves, table) {
            md += "| \(curve.label) | " + row.map { $0.map(Self.percent) ?? "n/a" }.joined(separator: " | ") + " |\n"
        }
        return md
    }

    /// "+12.3%", "−4.0%"; a value that rounds to zero is "+0.0%", never "-0.0%".
    static func percent(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return String(format: "%+.1f%%", rounded == 0 ? 0 : rounded)
    }

    private func ms(_ seconds: Double) -> String {
        seconds >= 10 ? String(format: "%.1f s", seconds) : String(format: "%.0f ms", seconds * 1000)
    }
}

func fixed(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
