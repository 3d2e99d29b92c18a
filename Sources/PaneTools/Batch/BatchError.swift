/// Errors that stop a batch before it starts. Errors of single files do not stop it: they
/// become `BatchFailure`s in the summary.
public enum BatchError: Error, CustomStringConvertible, Equatable {
    case invalidShard(String)
    case notADirectory(path: String)
    case unreadableDirectory(path: String, reason: String)
    case cannotCreateDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidShard(reason): return "invalid --shard \(reason)"
        case let .notADirectory(path): return "\(path): not a directory"
        case let .unreadableDirectory(path, reason): return "\(path): cannot list directory: \(reason)"
        case let .cannotCreateDirectory(path, reason): return "\(path): cannot create directory: \(reason)"
        }
    }
}

/// One file the batch could not do: its path relative to the source root and a one-line reason.
public struct BatchFailure: Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `reason` from any error, on one line.
    init(path: String, error: Error) {
        self.init(path: path, reason: String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " "))
    }

    public var description: String { "\(path): \(reason)" }
}
