import Synchronization

/// Keeps every record in memory, for tests that assert on what was logged.
public final class MemoryLogHandler: LogHandler {
    private let minimumLevel: LogLevel
    private let storage = Mutex<[LogRecord]>([])

    public init(minimumLevel: LogLevel = .debug) {
        self.minimumLevel = minimumLevel
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        level >= minimumLevel
    }

    public func log(_ record: LogRecord) {
        guard isEnabled(record.level) else { return }
        storage.withLock { $0.append(record) }
    }

    /// Everything logged so far, in order.
    public var records: [LogRecord] {
        storage.withLock { $0 }
    }

    /// The records whose message is `message`.
    public func records(withMessage message: String) -> [LogRecord] {
        records.filter { $0.message == message }
    }

    public func removeAll() {
        storage.withLock { $0.removeAll() }
    }
}
