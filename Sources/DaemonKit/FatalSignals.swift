#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes `SIGABRT` and `SIGQUIT` end the process, whatever the Swift runtime's crash handler does.
///
/// On Linux the Swift runtime catches both (and the fault signals) to run `swift-backtrace`.
/// When that cannot start — under systemd's `MemoryDenyWriteExecute=yes`, or when the helper is
/// missing — the handler prints "Backtracing … failed" and returns. For a fault that re-runs the
/// faulting instruction, which then kills the process; but a `SIGABRT` sent by another process
/// (systemd's watchdog, `kill -ABRT`) is simply over, and the process carries on as if nothing
/// had happened. With the default action restored, such a signal ends the process at once.
///
/// Faults (`SIGSEGV`, `SIGILL` from `fatalError` and failed preconditions, `SIGBUS`, `SIGFPE`)
/// keep the runtime's handler: they still end the process, with a backtrace when one can be made.
public enum FatalSignals {
    /// The signals whose default action is restored.
    public static let numbers: [Int32] = [SIGABRT, SIGQUIT]

    /// Restores the default action of `SIGABRT` and `SIGQUIT`. Call it first thing in `main`.
    public static func restoreDefaultActions() {
        for number in numbers {
            signal(number, SIG_DFL)
        }
    }
}
