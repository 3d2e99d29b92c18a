import Foundation
import PaneImageIO

/// Multi-scale structural similarity of `distorted` against `reference`, in [0, 1].
///
/// Wang, Simoncelli & Bovik, "Multi-scale structural similarity for image
/// quality assessment" (2003), as `pytorch_msssim.ms_ssim` computes it for
/// CompressAI's evaluations: samples in [0, 255] (data range 255, K1 = 0.01,
/// K2 = 0.03), an 11-tap Gaussian with sigma 1.5 applied separably with no
/// padding ("valid"), 5 scales weighted 0.0448, 0.2856, 0.3001, 0.2363, 0.1333,
/// 2x2 average pooling between scales (an odd side is zero-padded by one on each
/// end, the pad counted in the average), negative contrast-structure terms
/// clamped to 0, computed per R, G, B channel and averaged. Gray images count
/// as RGB with three equal channels; alpha is ignored.
/// - Throws: `MetricsError.sizeMismatch` when the sizes differ, `.tooSmall` when a side is
///   160 pixels or less (the coarsest scale would be smaller than the window).
public func msSSIM(_ reference: Image, _ distorted: Image) throws -> Double {
    try requireSameSize(reference, distorted)
    let minimumSide = (MSSSIM.windowSize - 1) * (1 << (MSSSIM.weights.count - 1))
    guard min(reference.width, reference.height) > minimumSide else {
        throw MetricsError.tooSmall(width: reference.width, height: reference.height, minimumSide: minimumSide)
    }
    var sum = 0.0
    for channel in 0..<3 {
        sum += MSSSIM.channelScore(Plane(reference, channel: channel), Plane(distorted, channel: channel))
    }
    return sum / 3
}

/// One channel as Doubles, row-major.
struct Plane {
    var width: Int
    var height: Int
    var values: [Double]

    init(width: Int, height: Int, values: [Double]) {
        self.width = width
        self.height = height
        self.values = values
    }

    init(_ image: Image, channel: Int) {
        let count = image.width * image.height
        self.init(width: image.width, height: image.height,
                  values: (0..<count).map { Double(rgbSample(image, $0, channel)) })
    }

    /// The element-wise product with a plane of the same size.
    func multiplied(by other: Plane) -> Plane {
        Plane(width: width, height: height, values: zip(values, other.values).map { $0 * $1 })
    }

    /// 2x2 average pooling as PyTorch's `avg_pool2d(kernel_size=2, padding=side % 2)`:
    /// an odd side gets a zero row or column at both ends, and every output is a quarter of its four inputs.
    func averagePooled() -> Plane {
        let padX = width % 2, padY = height % 2
        let outWidth = (width + 2 * padX - 2) / 2 + 1, outHeight = (height + 2 * padY - 2) / 2 + 1
        var out = [Double](repeating: 0, count: outWidth * outHeight)
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                var sum = 0.0
                for y in (2 * oy - padY)..<(2 * oy - padY + 2) where y >= 0 && y < height {
                    for x in (2 * ox - padX)..<(2 * ox - padX + 2) where x >= 0 && x < width {
                        sum += values[y * width + x]
                    }
                }
                out[oy * outWidth + ox] = sum / 4
            }
        }
        return Plane(width: outWidth, height: outHeight, values: out)
    }
}

enum MSSSIM {
    static let weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    static let windowSize = 11
    static let sigma = 1.5
    static let c1 = (0.01 * 255) * (0.01 * 255)
    static let c2 = (0.03 * 255) * (0.03 * 255)

    /// The normalised 1-D Gaussian, centred on tap 5.
    static let window: [Double] = {
        let taps = (0..<windowSize).map { index -> Double in
            let offset = Double(index - windowSize / 2)
            return exp(-offset * offset / (2 * sigma * sigma))
        }
        let total = taps.reduce(0, +)
        return taps.map { $0 / total }
    }()

    /// MS-SSIM of one channel: the product over scales of relu(cs)^weight,
    /// with the full SSIM (luminance too) at the coarsest scale.
    static func channelScore(_ reference: Plane, _ distorted: Plane) -> Double {
        var x = reference, y = distorted
        var score = 1.0
        for (scale, weight) in weights.enumerated() {
            let (ssim, contrastStructure) = ssimTerms(x, y)
            if scale == weights.count - 1 {
                score *= pow(max(ssim, 0), weight)
            } else {
                score *= pow(max(contrastStructure, 0), weight)
                x = x.averagePooled()
                y = y.averagePooled()
            }
        }
        return score
    }

    /// Mean SSIM and mean contrast-structure term over the valid-filtered maps.
    static func ssimTerms(_ x: Plane, _ y: Plane) -> (ssim: Double, contrastStructure: Double) {
        let meanX = gaussianFiltered(x)
        let meanY = gaussianFiltered(y)
        let meanXX = gaussianFiltered(x.multiplied(by: x))
        let meanYY = gaussianFiltered(y.multiplied(by: y))
        let meanXY = gaussianFiltered(x.multiplied(by: y))
        var ssimSum = 0.0, contrastSum = 0.0
        for i in 0..<meanX.values.count {
            let mx = meanX.values[i], my = meanY.values[i]
            let varianceX = meanXX.values[i] - mx * mx
            let varianceY = meanYY.values[i] - my * my
            let covariance = meanXY.values[i] - mx * my
            let contrast = (2 * covariance + c2) / (varianceX + varianceY + c2)
            let luminance = (2 * mx * my + c1) / (mx * mx + my * my + c1)
            contrastSum += contrast
            ssimSum += luminance * contrast
        }
        let count = Double(meanX.values.count)
        return (ssimSum / count, contrastSum / count)
    }

    /// Separable Gaussian filter with no padding: the result is (width - 10) x (height - 10).
    /// REQUIRES: both sides are at least `windowSize`.
    static func gaussianFiltered(_ plane: Plane) -> Plane {
        let outWidth = plane.width - windowSize + 1, outHeight = plane.height - windowSize + 1
        var rows = [Double](repeating: 0, count: outWidth * plane.height)
        var out = [Double](repeating: 0, count: outWidth * outHeight)
        window.withUnsafeBufferPointer { taps in
            plane.values.withUnsafeBufferPointer { source in
                for y in 0..<plane.height {
                    for x in 0..<outWidth {
                        var sum = 0.0
                        for k in 0..<windowSize { sum += taps[k] * source[y * plane.width + x + k] }
                        rows[y * outWidth + x] = sum
                    }
                }
            }
            rows.withUnsafeBufferPointer { source in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        var sum = 0.0
                        for k in 0..<windowSize { sum += taps[k] * source[(y + k) * outWidth + x] }
                        out[y * outWidth + x] = sum
                    }
                }
            }
        }
        return Plane(width: outWidth, height: outHeight, values: out)
    }
}
