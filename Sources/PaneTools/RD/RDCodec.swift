import Foundation
import PaneImageIO

/// One coding of one image at one setting: the stream's size, the decoder's picture and the times.
public struct RDTrial: Sendable {
    /// Size of the whole stream or file the codec wrote, in bytes.
    public let bytes: Int
    /// What the codec's decoder produced from those bytes.
    public let decoded: Image
    /// Wall-clock seconds to encode (for command-line tools: the whole process).
    public let encodeSeconds: Double
    /// Wall-clock seconds to decode.
    public let decodeSeconds: Double

    public init(bytes: Int, decoded: Image, encodeSeconds: Double, decodeSeconds: Double) {
        self.bytes = bytes
        self.decoded = decoded
        self.encodeSeconds = encodeSeconds
        self.decodeSeconds = decodeSeconds
    }
}

/// An image about to be coded by every codec of a sweep.
public struct RDSource: Sendable {
    /// The colour samples (alpha already dropped: the sweep measures colour only).
    public let image: Image
    /// A private scratch directory for this image, removed when the image is done.
    public let workspace: URL
    /// `image` as an 8-bit PNG inside `workspace`, the input of command-line encoders.
    public let png: URL
}

/// A codec the sweep can measure: a name, a list of settings, and a way to code an image.
public protocol RDCodec: Sendable {
    /// Short lowercase name used in `--codecs`, the CSV and the plots ("webp").
    var name: String { get }
    /// What a setting means for this codec ("quality", "distance", "qp").
    var parameter: String { get }
    /// The settings swept, in the codec's own units.
    var settings: [Double] { get }
    /// The encoder's name and version, for the report.
    var version: String { get }
    /// Starts coding `source`; the session then codes it at each setting in turn.
    func session(for source: RDSource) throws -> any RDSession
}

/// Coding of one image at successive settings; a session may keep work shared between settings.
public protocol RDSession: AnyObject {
    func code(setting: Double) throws -> RDTrial
}

/// Runs `body` and returns its result with the wall-clock seconds it took.
func measureTime<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

/// Formats a setting as it is written in the CSV and tables: "55", "0.5", "2.8".
func settingText(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    var text = String(format: "%.4f", value)
    while text.hasSuffix("0") { text.removeLast() }
    return text
}
