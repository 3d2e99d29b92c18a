import Foundation
import Pane
import PaneImageIO

/// Pane itself: real `.pane` streams from `Codec.encode` and real decodes with `Codec.decode`.
public struct PaneRDCodec: RDCodec {
    /// Quality 0…100. The shipped model spans about 0.25–1.0 bpp on Kodak over the whole range,
    /// so the sweep includes both ends.
    public static let defaultQualities: [Double] = [0, 15, 30, 45, 60, 75, 90, 100]

    public let codec: Codec
    public let settings: [Double]
    public var name: String { "pane" }
    public var parameter: String { "quality" }
    public var version: String { "pane model \(codec.network.manifest.sha256.prefix(12))" }

    public init(codec: Codec, qualities: [Double] = Self.defaultQualities) {
        self.codec = codec
        self.settings = qualities
    }

    public func session(for source: RDSource) throws -> any RDSession {
        Session(codec: codec, image: source.image)
    }

    /// g_a does not depend on the quality (the gain comes after it), so it runs once per image;
    /// its time is added to every setting's encode time, which is therefore what
    /// `Codec.encode(_:quality:)` alone would take.
    final class Session: RDSession {
        let codec: Codec
        let image: Image
        private var analysis: (Codec.Analysis, seconds: Double)?

        init(codec: Codec, image: Image) {
            self.codec = codec
            self.image = image
        }

        func code(setting quality: Double) throws -> RDTrial {
            let (shared, analysisSeconds) = try analysis ?? measureTime { try codec.analyze(image) }
            analysis = (shared, analysisSeconds)
            let (encoded, encodeSeconds) = try measureTime { try codec.encode(shared, quality: quality) }
            let (decoded, decodeSeconds) = try measureTime { try codec.decode(encoded.bytes) }
            return RDTrial(bytes: encoded.bytes.count, decoded: decoded,
                           encodeSeconds: analysisSeconds + encodeSeconds, decodeSeconds: decodeSeconds)
        }
    }
}

/// JPEG through libjpeg in process (PaneImageIO): 4:2:0, optimised Huffman tables, as
/// `cjpeg -quality Q -optimize` writes it for the anchors.
public struct JPEGRDCodec: RDCodec {
    public static let defaultQualities: [Double] = stride(from: 5, through: 95, by: 5).map(Double.init)

    public let settings: [Double]
    public var name: String { "jpeg" }
    public var parameter: String { "quality" }
    public var version: String { "libjpeg (PaneImageIO), 4:2:0, optimized Huffman" }

    public init(qualities: [Double] = Self.defaultQualities) { settings = qualities }

    public func session(for source: RDSource) throws -> any RDSession { Session(image: source.image) }

    final class Session: RDSession {
        let image: Image
        init(image: Image) { self.image = image }

        func code(setting quality: Double) throws -> RDTrial {
            let options = JPEGOptions(quality: Int(quality.rounded()), subsampling: .yuv420, optimizeCoding: true)
            let (bytes, encodeSeconds) = try measureTime { try image.encoded(as: .jpeg(options)) }
            let (decoded, decodeSeconds) = try measureTime { try Image(decoding: bytes) }
            return RDTrial(bytes: bytes.count, decoded: decoded, encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds)
        }
    }
}
