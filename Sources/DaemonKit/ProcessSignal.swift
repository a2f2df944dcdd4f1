#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signals a daemon reacts to.
public enum ProcessSignal: Sendable, CaseIterable, CustomStringConvertible {
    /// `SIGTERM`: finish the current work and exit.
    case terminate
    /// `SIGINT`: as `terminate`, from a terminal.
    case interrupt
    /// `SIGHUP`: reload the configuration.
    case hangup

    public var number: Int32 {
        switch self {
        case .terminate: SIGTERM
        case .interrupt: SIGINT
        case .hangup: SIGHUP
        }
    }

    /// The conventional name, for log lines: `SIGTERM`.
    public var description: String {
        switch self {
        case .terminate: "SIGTERM"
        case .interrupt: "SIGINT"
        case .hangup: "SIGHUP"
        }
    }
}
