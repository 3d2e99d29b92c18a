import Foundation

/// One setting of one codec averaged over the images of a sweep.
public struct RDPoint: Sendable, Equatable {
    public let setting: Double
    public let images: Int
    /// Mean bits per pixel over the images.
    public let bpp: Double
    /// Mean PSNR-RGB over the images, dB.
    public let psnr: Double
    /// Mean MS-SSIM over the images large enough for it; nil when none is.
    public let msssim: Double?
    public let medianEncodeSeconds: Double?
    public let medianDecodeSeconds: Double?

    public init(setting: Double, images: Int, bpp: Double, psnr: Double, msssim: Double?,
                medianEncodeSeconds: Double? = nil, medianDecodeSeconds: Double? = nil) {
        self.setting = setting
        self.images = images
        self.bpp = bpp
        self.psnr = psnr
        self.msssim = msssim
        self.medianEncodeSeconds = medianEncodeSeconds
        self.medianDecodeSeconds = medianDecodeSeconds
    }

    /// MS-SSIM of the mean in dB, −10·log10(1 − MS-SSIM), as the anchors give it.
    public var msssimDB: Double? {
        guard let msssim, msssim < 1 else { return nil }
        return -10 * log10(1 - msssim)
    }
}

/// A codec's rate-distortion curve: its averaged points, in increasing rate.
public struct RDCurve: Sendable, Equatable {
    public let codec: String
    /// What the settings mean ("quality", "distance", …).
    public let parameter: String
    /// True for a reference curve read from an anchors file rather than measured.
    public let isAnchor: Bool
    public let points: [RDPoint]

    public init(codec: String, parameter: String, isAnchor: Bool = false, points: [RDPoint]) {
        self.codec = codec
        self.parameter = parameter
        self.isAnchor = isAnchor
        self.points = points.sorted { $0.bpp < $1.bpp }
    }

    /// How the curve is named in tables and legends: "webp", or "webp (anchor)".
    public var label: String { isAnchor ? "\(codec) (anchor)" : codec }

    /// Averages `measurements` per codec and setting, keeping only settings measured on every image
    /// (a mean over fewer images would not be comparable); those left out are returned as notes.
    public static func averages(of measurements: [RDMeasurement], codecs: [(name: String, parameter: String)],
                                imageCount: Int) -> (curves: [RDCurve], notes: [String]) {
        var notes: [String] = []
        var curves: [RDCurve] = []
        for (name, parameter) in codecs {
            let mine = measurements.filter { $0.codec == name }
            var settings: [Double] = []
            for m in mine where !settings.contains(m.setting) { settings.append(m.setting) }
            var points: [RDPoint] = []
            for setting in settings {
                let rows = mine.filter { $0.setting == setting }
                guard rows.count == imageCount else {
                    notes.append("\(name) \(parameter) \(settingText(setting)): measured on \(rows.count) of \(imageCount) images, left out of the averages")
                    continue
                }
                let msssims = rows.compactMap(\.msssim)
                points.append(RDPoint(
                    setting: setting, images: rows.count,
                    bpp: RDStatistics.mean(rows.map(\.bpp)), psnr: RDStatistics.mean(rows.map(\.psnr)),
                    msssim: msssims.isEmpty ? nil : RDStatistics.mean(msssims),
                    medianEncodeSeconds: RDStatistics.median(rows.map(\.encodeSeconds)),
                    medianDecodeSeconds: RDStatistics.median(rows.map(\.decodeSeconds))))
            }
            if !points.isEmpty { curves.append(RDCurve(codec: name, parameter: parameter, points: points)) }
        }
        return (curves, notes)
    }
}

/// Averages of a sweep's numbers.
enum RDStatistics {
    static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
