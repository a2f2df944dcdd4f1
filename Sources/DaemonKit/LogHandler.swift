/// Where a ``Logger`` sends its records.
public protocol LogHandler: Sendable {
    /// Whether records of `level` would be written; lets the logger skip building them.
    func isEnabled(_ level: LogLevel) -> Bool
    func log(_ record: LogRecord)
}
