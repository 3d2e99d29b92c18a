/// Every way reading a `.pane` file or its alpha plane can fail, each with a one-line
/// `description`. `Training/bitstream.py` raises the same cases with the same messages.
public enum BitstreamError: Error, Equatable, CustomStringConvertible {
    /// The file does not start with the `PANE` magic.
    case notPane
    /// The file uses a format version newer than this reader's.
    case newerVersion(found: Int, supported: Int)
    /// The file was encoded with a model the caller does not have; `id` is its model id in hex.
    case unknownModel(id: String)
    /// The data ends before the file (or the alpha plane's zlib stream) does.
    case truncated
    /// A CRC mismatch or an impossible value; the payload says which.
    case corrupt(String)
    /// A section the header implies is absent (or out of order); the payload names it.
    case missingSection(String)
    /// The header is intact (its CRC matches) but holds a value format 1 does not allow.
    case invalidHeader(String)

    public var description: String {
        switch self {
        case .notPane:
            return "not a .pane file (it does not start with PANE)"
        case let .newerVersion(found, supported):
            return "written by a newer pane (format \(found)); this pane reads format \(supported): upgrade pane"
        case let .unknownModel(id):
            return "encoded with model \(id), which this pane does not have: install that model or pass it with --model"
        case .truncated:
            return "truncated .pane file: the data ends before the file does"
        case let .corrupt(reason):
            return "corrupt .pane file: \(reason)"
        case let .missingSection(name):
            return "incomplete .pane file: section \(name) is missing or out of order"
        case let .invalidHeader(reason):
            return "invalid .pane header: \(reason)"
        }
    }
}
