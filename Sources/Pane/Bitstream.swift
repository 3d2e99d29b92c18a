import Foundation
import PaneBitstream
import PaneEntropy
import PaneImageIO
import PaneKernels
import PaneModel

/// Limits of the whole-image path (before tiling): checked before any allocation.
public enum CodecLimits {
    /// The network holds about 100 bytes per pixel at its widest layer.
    public static let maxPixels = 40_000_000
}

/// Errors of encoding and decoding that are not file-format errors.
public enum CodecError: Error, CustomStringConvertible, Equatable {
    case imageTooLarge(width: Int, height: Int, maxPixels: Int)
    case tiledStreamsUnsupported(tileSize: Int)

    public var description: String {
        switch self {
        case let .imageTooLarge(w, h, limit):
            return "\(w)×\(h) is more than the \(limit / 1_000_000) megapixels this version codes at once"
        case let .tiledStreamsUnsupported(size):
            return "stream uses \(size)-pixel tiles, which this version of pane cannot decode yet"
        }
    }
}

extension Codec {
    /// The 8-byte model id written into every stream: the first bytes of the weights' sha256.
    public var modelID: [UInt8] {
        let hex = Array(network.manifest.sha256.utf8)
        return (0..<8).map { i in UInt8(hexValue(hex[2 * i]) << 4 | hexValue(hex[2 * i + 1])) }
    }

    private func tables() throws -> (y: CDFTables, z: CDFTables) {
        (try CDFTables(cdfs: network.yCDF.rows, offsets: network.yCDF.offsets),
         try CDFTables(cdfs: network.zCDF.rows, offsets: network.zCDF.offsets))
    }

    /// What `encode` produced; `reconstruction()` gives the decoder's image without re-decoding.
    public struct Encoded: Sendable {
        public let bytes: [UInt8]
        let header: PaneHeader
        let zHat: IntegerEntropyModel.IntTensor
        let yHat: IntegerEntropyModel.IntTensor
        let alpha: [UInt8]?
    }

    /// The image a decoder will produce from `encoded` (runs g_s).
    public func reconstruction(of encoded: Encoded) -> Image {
        synthesize(encoded.yHat, header: encoded.header, alpha: encoded.alpha)
    }

    /// g_a of an image, before the gain: the expensive half of encoding, shared across qualities.
    public struct Analysis: Sendable {
        let image: Image
        let y: Tensor
    }

    public func analyze(_ image: Image) throws -> Analysis {
        guard image.width * image.height <= CodecLimits.maxPixels else {
            throw CodecError.imageTooLarge(width: image.width, height: image.height, maxPixels: CodecLimits.maxPixels)
        }
        return Analysis(image: image, y: network.g_a(Self.paddedTensor(image)))
    }

    /// Encodes `image` at `quality` ∈ [0, 100] into a `.pane` stream.
    public func encode(_ image: Image, quality: Double) throws -> Encoded {
        try encode(try analyze(image), quality: quality)
    }

    /// Quality is stored in hundredths; the encoder uses that stored value so decoders agree.
    public func encode(_ analysis: Analysis, quality requested: Double) throws -> Encoded {
        let image = analysis.image
        return try encodeLatent(analysis.y, quality: requested, width: image.width, height: image.height,
                                grayscale: image.isGrayscale, alpha: image.alpha)
    }

    /// Everything of `encode` after g_a: `y` is g_a's output (before the gain) for a `width × height`
    /// image, `M × ⌈height/64⌉·4 × ⌈width/64⌉·4`. The conformance tests feed it fixed latents
    /// (Training/codec.py `Codec.encode_latent` is its twin).
    func encodeLatent(_ y: Tensor, quality requested: Double, width: Int, height: Int,
                      grayscale: Bool = false, alpha: [UInt8]? = nil) throws -> Encoded {
        guard requested >= 0, requested <= 100 else { throw PaneError.invalidQuality(requested) }
        let pw = (width + Self.alignment - 1) / Self.alignment * Self.alignment
        let ph = (height + Self.alignment - 1) / Self.alignment * Self.alignment
        precondition(y.channels == network.latentChannels && y.height == ph / 16 && y.width == pw / 16,
                     "latent of \(y.channels)×\(y.height)×\(y.width) for a \(width)×\(height) image")
        let quality = (requested * 100).rounded() / 100
        let (yTables, zTables) = try tables()
        let (gain, _) = network.gains(quality: quality)
        let y = PaneNetwork.scaleChannels(y, gain)
        let z = network.h_a(y)
        let zHat = IntegerEntropyModel.IntTensor(channels: z.channels, height: z.height, width: z.width,
                                                 data: z.data.map { Int64(symbol(Double($0))) })
        let zIndexes = Self.channelIndexes(channels: z.channels, plane: z.height * z.width)
        var sections = [Section(kind: .z, payload: try RANS.encode(symbols: zHat.data.map { Int32(clamping: $0) },
                                                                   indexes: zIndexes, tables: zTables))]
        let model = network.entropyModel
        let hyper = model.hyper(zHat)
        let size = network.manifest.slices.size, plane = hyper.height * hyper.width
        let unit = pow(2, -Double(model.meanBits))
        let yHat = try model.runSlices(hyper: hyper, sliceSize: size) { i, mu, index in
            let q = (0..<mu.count).map { j in
                symbol(Double(y.data[i * size * plane + j]) - Double(mu[j]) * unit)
            }
            sections.append(Section(kind: .y, slice: i, payload: try RANS.encode(symbols: q, indexes: index, tables: yTables)))
            return q
        }
        if let alpha { sections.append(Section(kind: .alpha, payload: AlphaCodec.compress(alpha))) }
        let header = PaneHeader(modelID: modelID, width: width, height: height,
                                colorLayout: grayscale ? .gray : .rgb, hasAlpha: alpha != nil,
                                quality: quality, tileSize: 0, sliceCount: network.manifest.slices.count)
        let bytes = PaneFile(header: header, sections: sections).serialized()
        return Encoded(bytes: bytes, header: header, zHat: zHat, yHat: yHat, alpha: alpha)
    }

    /// The exact part of decoding: what `decode` gives g_s (Training/codec.py `decode_latents`).
    public struct Latents: Sendable {
        public let header: PaneHeader
        public let zHat: IntegerEntropyModel.IntTensor
        /// Fixed point, units of 2^−meanBits.
        public let yHat: IntegerEntropyModel.IntTensor
        public let alpha: [UInt8]?
    }

    /// Decodes a `.pane` stream written for this model.
    public func decode(_ bytes: [UInt8]) throws -> Image {
        synthesize(try decodeLatents(bytes))
    }

    /// The image of decoded latents (runs g_s): the second half of `decode`.
    public func synthesize(_ latents: Latents) -> Image {
        synthesize(latents.yHat, header: latents.header, alpha: latents.alpha)
    }

    /// Parses `bytes` and runs the entropy decoder and the integer path: ẑ, ŷ and alpha, no g_s.
    public func decodeLatents(_ bytes: [UInt8]) throws -> Latents {
        let file = try PaneFile(parsing: bytes, expectedModelIDs: [modelID])
        let header = file.header
        guard header.tileSize == 0 else { throw CodecError.tiledStreamsUnsupported(tileSize: header.tileSize) }
        guard header.width * header.height <= CodecLimits.maxPixels else {
            throw CodecError.imageTooLarge(width: header.width, height: header.height, maxPixels: CodecLimits.maxPixels)
        }
        guard header.sliceCount == network.manifest.slices.count else {
            throw BitstreamError.corrupt("stream has \(header.sliceCount) slices, the model \(network.manifest.slices.count)")
        }
        let (yTables, zTables) = try tables()
        let section = { (kind: Section.Kind, slice: Int) -> [UInt8] in
            file.sections.first { $0.kind == kind && $0.slice == slice && $0.tile == 0 }?.payload ?? []
        }
        let pw = (header.width + Self.alignment - 1) / Self.alignment * Self.alignment
        let ph = (header.height + Self.alignment - 1) / Self.alignment * Self.alignment
        let nz = network.manifest.config.Nz
        let zPlane = (pw / 64) * (ph / 64)
        let zSymbols = try RANS.decode(section(.z, 0), indexes: Self.channelIndexes(channels: nz, plane: zPlane),
                                       tables: zTables)
        let zHat = IntegerEntropyModel.IntTensor(channels: nz, height: ph / 64, width: pw / 64, data: zSymbols.map(Int64.init))
        let model = network.entropyModel
        let hyper = model.hyper(zHat)
        let yHat = try model.runSlices(hyper: hyper, sliceSize: network.manifest.slices.size) { i, _, index in
            try RANS.decode(section(.y, i), indexes: index, tables: yTables)
        }
        let alpha = header.hasAlpha ? try AlphaCodec.decompress(section(.alpha, 0), count: header.width * header.height) : nil
        return Latents(header: header, zHat: zHat, yHat: yHat, alpha: alpha)
    }

    /// g_s on the fixed-point ŷ, cropped to the image.
    private func synthesize(_ yHat: IntegerEntropyModel.IntTensor, header: PaneHeader, alpha: [UInt8]?) -> Image {
        let unit = Float(pow(2, -Double(network.entropyModel.meanBits)))
        let (_, inverse) = network.gains(quality: header.quality)
        let latent = Tensor(channels: yHat.channels, height: yHat.height, width: yHat.width,
                            data: yHat.data.map { Float($0) * unit })
        let xHat = network.g_s(PaneNetwork.scaleChannels(latent, inverse))
        return Image(planarRGB: Self.cropped(xHat, width: header.width, height: header.height),
                     width: header.width, height: header.height, grayscale: header.colorLayout == .gray, alpha: alpha)
    }

    static func channelIndexes(channels: Int, plane: Int) -> [Int32] {
        (0..<channels).flatMap { c in [Int32](repeating: Int32(c), count: plane) }
    }
}

/// round(v) ties to even, clamped to the int32 symbol range (NaN → 0): never traps on odd floats.
private func symbol(_ v: Double) -> Int32 {
    guard v.isFinite else { return 0 }
    return Int32(min(max(v.rounded(.toNearestOrEven), Double(Int32.min)), Double(Int32.max)))
}

private func hexValue(_ c: UInt8) -> UInt8 {
    switch c {
    case 48...57: return c - 48
    case 97...102: return c - 87
    case 65...70: return c - 55
    default: return 0
    }
}
