import Foundation

/// A JSON value written with fixed decimals and keys in the order given, so reports diff cleanly.
enum JSONText {
    case number(Double, decimals: Int)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case null
    case array([JSONText])
    case object([(String, JSONText)])

    /// A number, or null when absent or not finite.
    static func number(_ value: Double?, _ decimals: Int) -> JSONText {
        guard let value, value.isFinite else { return .null }
        return .number(value, decimals: decimals)
    }

    func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent), inner = String(repeating: "  ", count: indent + 1)
        switch self {
        case let .number(value, decimals):
            var text = String(format: "%.\(decimals)f", value)
            if text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
            return text == "-0" ? "0" : text
        case let .integer(value): return String(value)
        case let .string(text): return Self.quoted(text)
        case let .bool(value): return value ? "true" : "false"
        case .null: return "null"
        case let .array(items):
            guard !items.isEmpty else { return "[]" }
            if items.allSatisfy(\.isScalar) { return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]" }
            return "[\n" + items.map { inner + $0.rendered(indent: indent + 1) }.joined(separator: ",\n") + "\n\(pad)]"
        case let .object(fields):
            guard !fields.isEmpty else { return "{}" }
            if fields.count <= 12, fields.allSatisfy({ $0.1.isScalar }) {
                return "{" + fields.map { "\(Self.quoted($0.0)): \($0.1.rendered())" }.joined(separator: ", ") + "}"
            }
            return "{\n" + fields.map { "\(inner)\(Self.quoted($0.0)): \($0.1.rendered(indent: indent + 1))" }
                .joined(separator: ",\n") + "\n\(pad)}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    static func quoted(_ s: String) -> String { jsonString(s) }
}
