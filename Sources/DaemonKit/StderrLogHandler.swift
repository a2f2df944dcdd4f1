import Foundation
import Synchronization

/// Writes each record as one line to standard error with a single `write(2)`, so lines from
/// concurrent tasks never interleave and nothing sits in a buffer when the process is killed.
///
/// Under systemd (`JOURNAL_STREAM` set) every line starts with `<N>`, the journald priority of
/// its level. Level and format can change while running, for a `SIGHUP` reload.
public final class StderrLogHandler: LogHandler {
    private let level: Atomic<UInt8>
    private let format: Atomic<UInt8>
    private let journald: Bool
    private let fileDescriptor: Int32

    /// - Parameters:
    ///   - environment: read once for `JOURNAL_STREAM`.
    ///   - fileDescriptor: where lines go; standard error unless a test redirects it.
    public init(
        minimumLevel: LogLevel = .info,
        format: LogFormat = .logfmt,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileDescriptor: Int32 = 2
    ) {
        self.level = Atomic(minimumLevel.ordinal)
        self.format = Atomic(format.ordinal)
        self.journald = environment["JOURNAL_STREAM"] != nil
        self.fileDescriptor = fileDescriptor
    }

    public var minimumLevel: LogLevel {
        get { LogLevel(ordinal: level.load(ordering: .relaxed)) }
        set { level.store(newValue.ordinal, ordering: .relaxed) }
    }

    public var logFormat: LogFormat {
        get { LogFormat(ordinal: format.load(ordering: .relaxed)) }
        set { format.store(newValue.ordinal, ordering: .relaxed) }
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        level >= minimumLevel
    }

    public func log(_ record: LogRecord) {
        guard isEnabled(record.level) else { return }
        var line = journald ? "<\(record.level.journaldPriority)>" : ""
        line += logFormat.render(record)
        line += "\n"
        // A failed write is dropped: there is nowhere left to report it.
        Console.write(line, to: fileDescriptor)
    }
}
