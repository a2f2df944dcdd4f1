/// One metadata value. Numbers and booleans keep their type so that JSON lines carry them
/// unquoted; everything else is text.
public enum LogValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    /// Converts whatever a call site passed as metadata.
    public init(_ value: any CustomStringConvertible & Sendable) {
        switch value {
        case let value as LogValue: self = value
        case let value as String: self = .string(value)
        case let value as Bool: self = .bool(value)
        case let value as Double: self = value.isFinite ? .double(value) : .string(value.description)
        case let value as Float: self = value.isFinite ? .double(Double(value)) : .string(value.description)
        case let value as any BinaryInteger:
            if let exact = Int(exactly: value) {
                self = .int(exact)
            } else {
                self = .string(value.description)
            }
        default: self = .string(value.description)
        }
    }

    public var description: String {
        switch self {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): number.description
        case .bool(let flag): flag ? "true" : "false"
        }
    }
}
