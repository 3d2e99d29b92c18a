import Foundation

/// Why a rate-distortion sweep, or one coding inside it, failed.
public enum RDError: Error, Equatable, CustomStringConvertible {
    /// No PNG or JPEG file was found under the inputs.
    case noImages([String])
    /// An input path does not exist.
    case missingInput(String)
    /// `--codecs` named a codec the sweep does not know.
    case unknownCodec(String, known: [String])
    /// A command-line coder exited with a non-zero status; `message` is the last line it wrote.
    case toolFailed(tool: String, status: Int32, message: String)
    /// A command-line coder ran past its time limit and was killed.
    case toolTimedOut(tool: String, seconds: Double)
    /// A command-line coder could not be started.
    case toolNotStarted(tool: String, reason: String)
    /// A coder exited cleanly but did not write the file it was asked for.
    case missingOutput(tool: String, path: String)
    /// A decoder returned a picture of another size than the source.
    case sizeChanged(codec: String, width: Int, height: Int, decodedWidth: Int, decodedHeight: Int)
    /// The anchors file could not be read or understood.
    case badAnchors(path: String, reason: String)

    public var description: String {
        switch self {
        case let .noImages(inputs):
            return "no PNG or JPEG images found in \(inputs.joined(separator: ", "))"
        case let .missingInput(path):
            return "\(path): no such file or directory"
        case let .unknownCodec(name, known):
            return "unknown codec '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .toolFailed(tool, status, message):
            return "\(tool) exited with status \(status)" + (message.isEmpty ? "" : ": \(message)")
        case let .toolTimedOut(tool, seconds):
            return "\(tool) did not finish within \(Int(seconds)) s and was stopped"
        case let .toolNotStarted(tool, reason):
            return "could not run \(tool): \(reason)"
        case let .missingOutput(tool, path):
            return "\(tool) reported success but wrote no \(path)"
        case let .sizeChanged(codec, w, h, dw, dh):
            return "\(codec) decoded a \(w)×\(h) image to \(dw)×\(dh)"
        case let .badAnchors(path, reason):
            return "anchors \(path): \(reason)"
        }
    }
}
