/// Why a quality metric cannot be computed for a pair of images.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// The two images differ in size.
    case sizeMismatch(width: Int, height: Int, otherWidth: Int, otherHeight: Int)
    /// MS-SSIM needs more than `minimumSide` pixels on the shorter side.
    case tooSmall(width: Int, height: Int, minimumSide: Int)

    public var description: String {
        switch self {
        case .sizeMismatch(let width, let height, let otherWidth, let otherHeight):
            return "images differ in size: \(width)x\(height) and \(otherWidth)x\(otherHeight)"
        case .tooSmall(let width, let height, let minimumSide):
            return "image of \(width)x\(height) is too small for MS-SSIM: each side must exceed \(minimumSide) pixels"
        }
    }
}
