#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered output to standard output and standard error: each call is one `write(2)` (retried
/// only when the kernel takes part of it), so nothing is lost in a stdio buffer when the process
/// is killed and lines from concurrent writers do not interleave.
public enum Console {
    /// Writes `text` followed by a newline to standard output.
    public static func out(_ text: String) {
        write(text + "\n", to: 1)
    }

    /// Writes `text` followed by a newline to standard error. Under systemd (`JOURNAL_STREAM`
    /// set) each of its lines starts with `<N>`, the journal priority of `level`, as the log
    /// lines do: a command's last words (a configuration error before any logger exists) are
    /// then shown by `journalctl -p err`.
    public static func err(_ text: String, level: LogLevel = .error) {
        write(journalLines(text, level: level, journald: stderrIsJournal), to: 2)
    }

    /// `text` as newline-terminated lines, each with `<N>` (the priority of `level`) first when
    /// `journald`.
    public static func journalLines(_ text: String, level: LogLevel, journald: Bool) -> String {
        guard journald else { return text + "\n" }
        let prefix = "<\(level.journaldPriority)>"
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { prefix + $0 + "\n" }.joined()
    }

    /// Whether systemd connected standard error to the journal (read once).
    public static let stderrIsJournal: Bool = getenv("JOURNAL_STREAM") != nil

    /// Writes all of `text` to `fileDescriptor`; `false` when the descriptor failed.
    @discardableResult
    public static func write(_ text: String, to fileDescriptor: Int32) -> Bool {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                #if canImport(Glibc)
                let written = Glibc.write(fileDescriptor, base + offset, buffer.count - offset)
                #else
                let written = Darwin.write(fileDescriptor, base + offset, buffer.count - offset)
                #endif
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }
}
