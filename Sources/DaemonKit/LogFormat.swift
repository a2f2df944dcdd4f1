/// How a log line is written: `logfmt` (`key=value` pairs) or `json` (one object per line).
public enum LogFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    case logfmt
    case json

    /// Parses a configuration value such as `json`; `nil` for anything else.
    public init?(name: String) {
        self.init(rawValue: name)
    }

    public var description: String { rawValue }

    var ordinal: UInt8 { self == .logfmt ? 0 : 1 }

    init(ordinal: UInt8) {
        self = ordinal == 0 ? .logfmt : .json
    }
}
