#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The metrics file could not be written.
public struct MetricsWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    /// The system call that failed: `open`, `write`, `close` or `rename`.
    public let operation: String
    public let errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(path): \(operation) failed: \(String(cString: strerror(errno)))"
    }
}
