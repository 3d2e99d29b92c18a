import Foundation
import PaneImageIO

/// Peak signal-to-noise ratio in dB of `distorted` against `reference`, with peak 255.
///
/// One mean squared error over all pixels of the R, G and B channels (gray
/// images count as RGB with three equal channels); alpha is ignored.
/// Returns `.infinity` for identical colour samples.
/// - Throws: `MetricsError.sizeMismatch` when the sizes differ.
public func psnr(_ reference: Image, _ distorted: Image) throws -> Double {
    try requireSameSize(reference, distorted)
    var squaredError = 0.0
    let count = reference.width * reference.height
    for i in 0..<count {
        for c in 0..<3 {
            let difference = Double(rgbSample(reference, i, c)) - Double(rgbSample(distorted, i, c))
            squaredError += difference * difference
        }
    }
    guard squaredError > 0 else { return .infinity }
    let meanSquaredError = squaredError / Double(3 * count)
    return 10 * log10(255 * 255 / meanSquaredError)
}

/// Sample `channel` (0 R, 1 G, 2 B) of pixel `index`, gray standing for all three.
func rgbSample(_ image: Image, _ index: Int, _ channel: Int) -> UInt8 {
    image.isGrayscale ? image.pixels[index] : image.pixels[3 * index + channel]
}

func requireSameSize(_ first: Image, _ second: Image) throws {
    guard first.width == second.width, first.height == second.height else {
        throw MetricsError.sizeMismatch(width: first.width, height: first.height,
                                        otherWidth: second.width, otherHeight: second.height)
    }
}
