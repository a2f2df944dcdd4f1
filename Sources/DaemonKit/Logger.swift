import Foundation

/// A value-type logger in the shape of swift-log: constant messages, data in ordered metadata.
///
///     let log = logger.with([LogKey.site: "web"])
///     log.info("site connected", [LogKey.durationMs: 12])
///
/// It is passed to whatever needs it, never reached through a global.
public struct Logger: Sendable {
    /// Metadata as written at a call site: ordered, any printable value.
    public typealias Metadata = KeyValuePairs<String, any CustomStringConvertible & Sendable>

    /// A log message. Only string literals convert implicitly, so data cannot be interpolated
    /// into a message by accident; it belongs in the metadata.
    public struct Message: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let text: String

        public init(stringLiteral value: String) {
            text = value
        }

        /// For the rare message chosen at run time from a fixed set (never built from data).
        public init(_ text: String) {
            self.text = text
        }

        public var description: String { text }
    }

    public let handler: any LogHandler
    /// Fields added to every record, before the call site's own.
    public private(set) var metadata: [LogField]

    public init(handler: any LogHandler, metadata: Metadata = [:]) {
        self.handler = handler
        self.metadata = []
        Self.merge(metadata, into: &self.metadata)
    }

    /// A logger that adds `metadata` to every record; a key already present takes the new value.
    public func with(_ metadata: Metadata) -> Logger {
        var copy = self
        Self.merge(metadata, into: &copy.metadata)
        return copy
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        handler.isEnabled(level)
    }

    public func log(_ level: LogLevel, _ message: Message, _ metadata: Metadata = [:]) {
        guard handler.isEnabled(level) else { return }
        var fields = self.metadata
        Self.merge(metadata, into: &fields)
        handler.log(LogRecord(timestamp: Date(), level: level, message: message.text, metadata: fields))
    }

    public func debug(_ message: Message, _ metadata: Metadata = [:]) {
        log(.debug, message, metadata)
    }

    public func info(_ message: Message, _ metadata: Metadata = [:]) {
        log(.info, message, metadata)
    }

    public func notice(_ message: Message, _ metadata: Metadata = [:]) {
        log(.notice, message, metadata)
    }

    public func warning(_ message: Message, _ metadata: Metadata = [:]) {
        log(.warning, message, metadata)
    }

    public func error(_ message: Message, _ metadata: Metadata = [:]) {
        log(.error, message, metadata)
    }

    /// Appends fields in order; a repeated key replaces the earlier value in place, so a line
    /// never carries one key twice.
    private static func merge(_ metadata: Metadata, into fields: inout [LogField]) {
        for (key, value) in metadata {
            let field = LogField(key: key, value: LogValue(value))
            if let index = fields.firstIndex(where: { $0.key == key }) {
                fields[index] = field
            } else {
                fields.append(field)
            }
        }
    }
}
