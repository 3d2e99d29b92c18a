/// Every way reading or writing an image can fail, each with a one-line `description`.
public enum ImageIOError: Error, Equatable, CustomStringConvertible {
    /// The input holds no bytes.
    case empty
    /// The first bytes are neither a PNG nor a JPEG signature.
    case unsupportedFormat
    /// The data ends before the image does.
    case truncated(ImageFormat)
    /// The decoder refused the data; `reason` is its message.
    case corrupt(ImageFormat, reason: String)
    /// The header claims more pixels than `limits` allow; nothing was allocated.
    case tooLarge(width: Int, height: Int, limits: ImageLimits)
    /// A valid file or request this module does not handle (CMYK JPEG, alpha in a JPEG).
    case unsupported(String)
    /// The codec library failed for a reason unrelated to the data (out of memory).
    case failed(ImageFormat, reason: String)
    /// Reading or writing `path` failed; `reason` is the system's message.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .empty:
            return "empty input: no image data"
        case .unsupportedFormat:
            return "not a PNG or JPEG image"
        case .truncated(let format):
            return "truncated \(format): the data ends before the image does"
        case .corrupt(let format, let reason):
            return "corrupt \(format): \(reason)"
        case .tooLarge(let width, let height, let limits):
            return "image of \(width)x\(height) pixels is over the limit of \(limits.maxDimension) per side "
                + "and \(limits.maxPixels) in all"
        case .unsupported(let what):
            return "unsupported: \(what)"
        case .failed(let format, let reason):
            return "\(format) coding failed: \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

/// Largest image a reader accepts, checked on the header before any pixel memory is allocated.
public struct ImageLimits: Equatable, Sendable {
    /// Largest width or height, in pixels.
    public var maxDimension: Int
    /// Largest `width * height`.
    public var maxPixels: Int

    /// The defaults allow 65536 pixels per side and 2^28 (about 268 million) in all.
    public init(maxDimension: Int = 1 << 16, maxPixels: Int = 1 << 28) {
        self.maxDimension = maxDimension
        self.maxPixels = maxPixels
    }

    /// Throws `.tooLarge` unless `width` x `height` fits.
    func check(width: Int, height: Int) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if width > maxDimension || height > maxDimension || overflow || pixels > maxPixels {
            throw ImageIOError.tooLarge(width: width, height: height, limits: self)
        }
    }
}
