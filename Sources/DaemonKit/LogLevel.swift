/// Severity of a log line, ordered `debug < info < notice < warning < error`.
///
/// The raw value is the spelling used in the configuration file and in every log line.
public enum LogLevel: String, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case debug
    case info
    case notice
    case warning
    case error

    /// Parses a configuration value such as `warning`; `nil` for anything else.
    public init?(name: String) {
        self.init(rawValue: name)
    }

    /// The syslog priority that journald reads from a `<N>` line prefix.
    public var journaldPriority: Int {
        switch self {
        case .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        }
    }

    public var description: String { rawValue }

    /// Position in `allCases`; also the compact form kept in atomics.
    var ordinal: UInt8 {
        switch self {
        case .debug: 0
        case .info: 1
        case .notice: 2
        case .warning: 3
        case .error: 4
        }
    }

    init(ordinal: UInt8) {
        self = Self.allCases[Int(min(ordinal, 4))]
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        lhs.ordinal < rhs.ordinal
    }
}
