/// Everything that can go wrong in PaneEntropy.
///
/// `truncated` and `corrupt` describe the input bytes (they are told apart, as libjxl's
/// `kNotEnoughBytes` and `kGenericError` are); `invalidTable` and `invalidIndex` describe the
/// caller's tables and indexes.
public enum EntropyError: Error, Equatable, CustomStringConvertible {
    /// The stream ended before the last symbol was decoded.
    case truncated
    /// The bytes cannot have been written by `RANS.encode` with these tables and indexes; says why.
    case corrupt(String)
    /// A CDF table or its offsets are malformed; says which and how.
    case invalidTable(String)
    /// `indexes[position]` names no table, or (at the shorter count) symbols and indexes differ in count.
    case invalidIndex(Int)

    public var description: String {
        switch self {
        case .truncated: "entropy-coded stream is truncated"
        case .corrupt(let reason): "entropy-coded stream is corrupt: \(reason)"
        case .invalidTable(let reason): "invalid CDF table: \(reason)"
        case .invalidIndex(let position): "invalid table index at position \(position)"
        }
    }
}
