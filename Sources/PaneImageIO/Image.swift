/// An 8-bit image in memory: gray or RGB samples, with an optional alpha plane kept apart.
///
/// Pane codes the colour samples and carries alpha losslessly beside them, so
/// the two live in separate arrays.
public struct Image: Equatable, Sendable {
    /// Width in pixels, at least 1.
    public let width: Int
    /// Height in pixels, at least 1.
    public let height: Int
    /// Samples per pixel in `pixels`: 1 (gray) or 3 (RGB).
    public let channels: Int
    /// Row-major interleaved samples: `pixels[(y * width + x) * channels + c]`.
    public let pixels: [UInt8]
    /// Opacity per pixel, `alpha[y * width + x]`, 255 opaque; nil when the source had none.
    public let alpha: [UInt8]?
    /// The colour profile, EXIF and XMP of the file it came from (written back by `encoded(as:)`).
    public var metadata = ImageMetadata()
    /// What reading changed about the file's content, one line each, for the user to be told
    /// (16-bit samples reduced to 8 bits, an animated PNG's later frames left out).
    public var readingNotes: [String] = []

    /// True for one-channel images, which Pane decodes back to gray.
    public var isGrayscale: Bool { channels == 1 }

    /// Wraps existing samples.
    /// - Precondition: `width` and `height` are positive, `channels` is 1 or 3,
    ///   `pixels.count == width * height * channels` and `alpha`, if any, has `width * height` entries.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8], alpha: [UInt8]? = nil) {
        precondition(width > 0 && height > 0, "image dimensions must be positive")
        precondition(channels == 1 || channels == 3, "channels must be 1 (gray) or 3 (RGB)")
        precondition(pixels.count == width * height * channels, "pixel count does not match the dimensions")
        precondition(alpha.map { $0.count == width * height } ?? true, "alpha count does not match the dimensions")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.alpha = alpha
    }

    /// The colour samples as three planes of `Float` in [0, 1] (sample / 255):
    /// R, then G, then B, each row-major (CHW, `3 * width * height` values).
    /// Gray images repeat their one plane three times; alpha is left out.
    public func planarRGB() -> [Float] {
        let planeSize = width * height
        var planes = [Float](repeating: 0, count: 3 * planeSize)
        planes.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { source in
                for i in 0..<planeSize {
                    for c in 0..<3 {
                        out[c * planeSize + i] = Float(source[i * channels + (channels == 1 ? 0 : c)]) / 255
                    }
                }
            }
        }
        return planes
    }

    /// Builds an image from three planes of `Float` in [0, 1] laid out as `planarRGB()` returns them.
    ///
    /// Each value becomes `round(value * 255)` clamped to 0...255; NaN becomes 0.
    /// - Parameters:
    ///   - grayscale: keep one channel, the mean of the three planes, instead of three.
    ///   - alpha: an alpha plane to attach, `width * height` entries.
    /// - Precondition: `planarRGB.count == 3 * width * height`, and the preconditions of
    ///   `init(width:height:channels:pixels:alpha:)`.
    public init(planarRGB: [Float], width: Int, height: Int, grayscale: Bool = false, alpha: [UInt8]? = nil) {
        let planeSize = width * height
        precondition(width > 0 && height > 0 && planarRGB.count == 3 * planeSize, "expected 3 planes of width * height")
        let channels = grayscale ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: planeSize * channels)
        pixels.withUnsafeMutableBufferPointer { out in
            planarRGB.withUnsafeBufferPointer { planes in
                for i in 0..<planeSize {
                    let r = planes[i], g = planes[planeSize + i], b = planes[2 * planeSize + i]
                    if grayscale {
                        out[i] = Self.quantize((r + g + b) / 3)
                    } else {
                        out[3 * i] = Self.quantize(r)
                        out[3 * i + 1] = Self.quantize(g)
                        out[3 * i + 2] = Self.quantize(b)
                    }
                }
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels, alpha: alpha)
    }

    private static func quantize(_ value: Float) -> UInt8 {
        let scaled = value * 255
        guard scaled > 0 else { return 0 }  // also NaN
        return scaled >= 255 ? 255 : UInt8(scaled.rounded())
    }
}
