import Foundation

/// One log event as handed to a ``LogHandler``: a constant message plus ordered metadata.
public struct LogRecord: Sendable, Equatable {
    public var timestamp: Date
    public var level: LogLevel
    public var message: String
    public var metadata: [LogField]

    public init(timestamp: Date, level: LogLevel, message: String, metadata: [LogField] = []) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.metadata = metadata
    }

    /// The text of the metadata value under `key`, if present.
    public subscript(key: String) -> String? {
        metadata.first { $0.key == key }?.value.description
    }
}
