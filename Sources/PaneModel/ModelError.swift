/// Why a model could not be loaded. Each case names the file, key or field at fault.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unreadable(String, String)
    case corrupt(String, String)
    case wrongFormat(String)
    case unsupportedVersion(found: Int, supported: Int)
    case checksumMismatch(expected: String, actual: String)
    case missingField(String)
    case invalidField(String, String)
    case missingTensor(String)
    case wrongType(String, expected: String, actual: String)
    case shapeMismatch(String, expected: [Int], actual: [Int])
    case unusedTensors([String])
    case unknownLayer(String)

    public var description: String {
        switch self {
        case let .unreadable(path, why): return "cannot read model file \(path): \(why)"
        case let .corrupt(file, why): return "model file \(file) is corrupt: \(why)"
        case let .wrongFormat(found): return "not a Pane model manifest (format '\(found)', expected 'pane-model')"
        case let .unsupportedVersion(found, supported):
            return "model format version \(found) is newer than this pane supports (\(supported)); upgrade pane"
        case let .checksumMismatch(expected, actual):
            return "model weights do not match the manifest (\(actual.prefix(19))…, expected \(expected.prefix(19))…)"
        case let .missingField(field): return "model manifest lacks field '\(field)'"
        case let .invalidField(field, why): return "model manifest field '\(field)' is invalid: \(why)"
        case let .missingTensor(name): return "model weights lack tensor '\(name)'"
        case let .wrongType(name, expected, actual): return "tensor '\(name)' is \(actual), expected \(expected)"
        case let .shapeMismatch(name, expected, actual): return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .unusedTensors(names):
            return "model weights hold tensors no layer uses: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")"
        case let .unknownLayer(type): return "model manifest has a layer of unknown type '\(type)'"
        }
    }
}
