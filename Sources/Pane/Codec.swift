import Foundation
import PaneImageIO
import PaneKernels
import PaneModel

/// Errors of the Pane API that are not image or model file errors.
public enum PaneError: Error, CustomStringConvertible, Equatable {
    case invalidQuality(Double)

    public var description: String {
        switch self {
        case let .invalidQuality(q): return "quality \(q) is outside 0…100"
        }
    }
}

/// The codec: a loaded model and the operations on images.
public struct Codec: Sendable {
    public let network: PaneNetwork
    /// The release id this codec writes and accepts (`ModelReleases`); nil: the first bytes of the
    /// weights' sha256, which is the declared id of every release so far.
    var declaredID: [UInt8]? = nil
    /// Side lengths are padded to a multiple of this (the total downsampling of g_a and h_a).
    public static let alignment = 64

    public init(network: PaneNetwork) {
        Allocator.keepFreedBlocks()
        self.network = network
    }

    /// Loads a model manifest; `Codec.named(_:)` finds releases by name, `forDecoding` by a stream's id.
    public init(modelURL: URL) throws {
        Allocator.keepFreedBlocks()
        network = try PaneNetwork(manifestURL: modelURL)
    }

    /// The result of running the network on an image without entropy coding.
    public struct Reconstruction: Sendable {
        public let image: Image
        /// Bits per pixel estimated from the model's likelihoods (no stream is written).
        public let estimatedBPP: Double
    }

    /// Runs analysis, the hyperprior and synthesis at `quality` ∈ [0, 100] and returns the
    /// reconstructed image (alpha and grayscale kept as in `image`).
    public func reconstruct(_ image: Image, quality: Double) throws -> Reconstruction {
        guard quality >= 0, quality <= 100 else { throw PaneError.invalidQuality(quality) }
        let x = Self.paddedTensor(image)
        let out = network.forward(x, quality: quality)
        let planes = Self.cropped(out.xHat, width: image.width, height: image.height)
        let result = Image(planarRGB: planes, width: image.width, height: image.height,
                           grayscale: image.isGrayscale, alpha: image.alpha)
        return Reconstruction(image: result, estimatedBPP: out.estimatedBits / Double(image.width * image.height))
    }

    /// The image as a 3-channel tensor in [0, 1], edge-replicated to multiples of `alignment`.
    public static func paddedTensor(_ image: Image) -> Tensor {
        let grid = TileGrid(width: image.width, height: image.height, tileSize: 0)
        return tensor(image, region: .init(x: 0, y: 0, width: grid.paddedWidth, height: grid.paddedHeight))
    }

    /// The top-left `width × height` of each plane of `t`.
    public static func cropped(_ t: Tensor, width: Int, height: Int) -> [Float] {
        crop(t, x: 0, y: 0, width: width, height: height).data
    }
}

extension Codec {
    /// Threads the network uses (default: all cores).
    public static var threads: Int {
        get { Parallel.threads }
        set {
            Parallel.threads = newValue
            Image.encodingThreads = newValue
        }
    }
}

extension Codec {
    /// Multiply-accumulates of g_a and g_s on an image of this size (after padding).
    public func transformMACs(width: Int, height: Int) -> (analysis: Int, synthesis: Int) {
        let pw = aligned(width), ph = aligned(height)
        return (network.g_a.macs(height: ph, width: pw), network.g_s.macs(height: ph / 16, width: pw / 16))
    }

    /// Multiply-accumulates of a whole encode and decode of an image of this size (one tile), by
    /// arithmetic: encode runs g_a, h_a and the integer entropy path (hyper synthesis and slice
    /// networks), decode the entropy path and g_s.
    public func macCount(width: Int, height: Int) -> (encode: MACCount, decode: MACCount) {
        let pw = aligned(width), ph = aligned(height)
        let entropy = MACCount(int16: network.entropyModel.macs(latentHeight: ph / 16, latentWidth: pw / 16))
        let encode = network.g_a.macCount(height: ph, width: pw) + network.h_a.macCount(height: ph / 16, width: pw / 16) + entropy
        return (encode, entropy + network.g_s.macCount(height: ph / 16, width: pw / 16))
    }
}
