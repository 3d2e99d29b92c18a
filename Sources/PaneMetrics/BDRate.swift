import Foundation

/// Bjøntegaard delta rate of `test` against `anchor`, in percent: the average
/// rate difference at equal PSNR (negative: `test` needs fewer bits).
///
/// G. Bjøntegaard, VCEG-M33 (2001), in its piecewise-cubic form (VCEG-AL22):
/// the natural log of the rate is interpolated as a function of PSNR with a
/// monotone piecewise cubic Hermite interpolant (PCHIP, the slopes of SciPy's
/// `PchipInterpolator`), each curve's interpolant is integrated exactly over the
/// PSNR range both curves cover, and the mean log-rate difference `d` gives
/// `100 * (exp(d) - 1)`.
/// - Parameters:
///   - anchor: (rate, PSNR) points in any order; rates in any positive unit (bpp, bytes), PSNR in dB.
///   - test: points of the codec compared, rates in the same unit.
/// - Returns: nil when a curve has fewer than 2 points, a rate that is not positive and finite,
///   a non-finite or repeated PSNR, or when the PSNR ranges do not overlap.
public func bdRate(anchor: [(rate: Double, psnr: Double)], test: [(rate: Double, psnr: Double)]) -> Double? {
    guard let anchorCurve = PCHIP(anchor), let testCurve = PCHIP(test) else { return nil }
    let low = max(anchorCurve.xs.first!, testCurve.xs.first!)
    let high = min(anchorCurve.xs.last!, testCurve.xs.last!)
    guard high > low else { return nil }
    let anchorArea = anchorCurve.integral(at: high) - anchorCurve.integral(at: low)
    let testArea = testCurve.integral(at: high) - testCurve.integral(at: low)
    return 100 * (exp((testArea - anchorArea) / (high - low)) - 1)
}

/// Log-rate as a monotone cubic of PSNR through the given points.
struct PCHIP {
    /// PSNRs, strictly increasing.
    let xs: [Double]
    /// Natural log of the rates.
    let ys: [Double]
    /// Slope dy/dx at each point.
    let slopes: [Double]

    init?(_ points: [(rate: Double, psnr: Double)]) {
        let sorted = points.sorted { $0.psnr < $1.psnr }
        guard sorted.count >= 2,
              sorted.allSatisfy({ $0.rate > 0 && $0.rate.isFinite && $0.psnr.isFinite }),
              zip(sorted, sorted.dropFirst()).allSatisfy({ $0.psnr < $1.psnr })
        else { return nil }
        xs = sorted.map(\.psnr)
        ys = sorted.map { log($0.rate) }
        slopes = Self.slopes(xs, ys)
    }

    /// Fritsch–Carlson slopes as SciPy's `PchipInterpolator` sets them: weighted
    /// harmonic means inside, zero at local extrema, a one-sided three-point
    /// estimate at the ends kept in sign and size for monotonicity.
    private static func slopes(_ xs: [Double], _ ys: [Double]) -> [Double] {
        let widths = zip(xs, xs.dropFirst()).map { $1 - $0 }
        let secants = (0..<widths.count).map { (ys[$0 + 1] - ys[$0]) / widths[$0] }
        let n = xs.count
        guard n > 2 else { return [secants[0], secants[0]] }
        var slopes = [Double](repeating: 0, count: n)
        for k in 1..<(n - 1) {
            let before = secants[k - 1], after = secants[k]
            guard before.sign == after.sign, before != 0, after != 0 else { continue }
            let w1 = 2 * widths[k] + widths[k - 1], w2 = widths[k] + 2 * widths[k - 1]
            slopes[k] = (w1 + w2) / (w1 / before + w2 / after)
        }
        slopes[0] = endSlope(widths[0], widths[1], secants[0], secants[1])
        slopes[n - 1] = endSlope(widths[n - 2], widths[n - 3], secants[n - 2], secants[n - 3])
        return slopes
    }

    private static func endSlope(_ h0: Double, _ h1: Double, _ m0: Double, _ m1: Double) -> Double {
        let slope = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if signum(slope) != signum(m0) { return 0 }
        if signum(m0) != signum(m1), abs(slope) > 3 * abs(m0) { return 3 * m0 }
        return slope
    }

    private static func signum(_ value: Double) -> Int {
        value > 0 ? 1 : (value < 0 ? -1 : 0)
    }

    /// The integral of the interpolant from `xs[0]` to `x`.
    /// REQUIRES: `xs.first! <= x <= xs.last!`.
    func integral(at x: Double) -> Double {
        var total = 0.0
        for k in 0..<(xs.count - 1) where x > xs[k] {
            let width = xs[k + 1] - xs[k]
            let t = min((x - xs[k]) / width, 1)
            // Antiderivatives of the cubic Hermite basis h00, h10, h01, h11 from 0 to t.
            let t2 = t * t, t3 = t2 * t, t4 = t3 * t
            let h00 = t4 / 2 - t3 + t
            let h10 = t4 / 4 - 2 * t3 / 3 + t2 / 2
            let h01 = -t4 / 2 + t3
            let h11 = t4 / 4 - t3 / 3
            total += width * (h00 * ys[k] + h10 * width * slopes[k] + h01 * ys[k + 1] + h11 * width * slopes[k + 1])
        }
        return total
    }
}
