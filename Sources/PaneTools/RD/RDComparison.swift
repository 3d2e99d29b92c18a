import Foundation
import PaneMetrics

/// Which quality measure a comparison uses.
public enum RDMetric: String, Sendable, CaseIterable {
    /// PSNR-RGB, dB.
    case psnr
    /// MS-SSIM in dB, −10·log10(1 − MS-SSIM).
    case msssim

    /// The measure of a point on this scale, nil when the point lacks it.
    public func value(_ point: RDPoint) -> Double? {
        switch self {
        case .psnr: return point.psnr
        case .msssim: return point.msssimDB
        }
    }

    public var title: String {
        switch self {
        case .psnr: return "PSNR-RGB (dB)"
        case .msssim: return "MS-SSIM (dB)"
        }
    }
}

/// Comparisons between curves: Bjøntegaard delta rates and quality at fixed rates.
public enum RDComparison {
    /// Points outside this rate range (bpp) are left out of BD-rates, as in `anchors/README.md`.
    public static let bdRange: ClosedRange<Double> = 0.1...2.0
    /// The rates at which the summary reports PSNR.
    public static let reportedRates: [Double] = [0.25, 0.5, 0.75, 1.0]

    /// BD-rate of `test` against `anchor` in percent (negative: `test` needs fewer bits for the
    /// same quality), from PaneMetrics `bdRate` (PCHIP of log-rate over the overlapping quality
    /// range) on the points within `bdRange`; nil when the curves do not overlap.
    public static func bdRate(_ test: RDCurve, against anchor: RDCurve, metric: RDMetric = .psnr) -> Double? {
        func points(_ curve: RDCurve) -> [(rate: Double, psnr: Double)] {
            curve.points.filter { bdRange.contains($0.bpp) }.compactMap { p in metric.value(p).map { (p.bpp, $0) } }
        }
        return PaneMetrics.bdRate(anchor: points(anchor), test: points(test))
    }

    /// BD-rates of every curve (rows) against every curve (columns).
    public static func bdTable(_ curves: [RDCurve], metric: RDMetric = .psnr) -> [[Double?]] {
        curves.map { test in curves.map { anchor in bdRate(test, against: anchor, metric: metric) } }
    }

    /// The curve's quality at `bpp`, linear in log(bpp) between the two measured points around it
    /// (as the anchors' tables are made); nil outside the measured rates.
    public static func quality(of curve: RDCurve, at bpp: Double, metric: RDMetric = .psnr) -> Double? {
        let points = curve.points.compactMap { p in metric.value(p).map { (rate: p.bpp, value: $0) } }
            .sorted { $0.rate < $1.rate }
        guard bpp > 0, let first = points.first, let last = points.last, first.rate <= bpp, bpp <= last.rate else { return nil }
        for (a, b) in zip(points, points.dropFirst()) where a.rate <= bpp && bpp <= b.rate {
            guard b.rate > a.rate else { return a.value }
            let t = log(bpp / a.rate) / log(b.rate / a.rate)
            return a.value + t * (b.value - a.value)
        }
        return first.rate == bpp ? first.value : nil
    }
}
