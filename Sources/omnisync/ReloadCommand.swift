#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DaemonKit
import Foundation
import SyncEngine

/// `omnisync reload`: the unit's `ExecReload=`. Checks the file first, then sends SIGHUP to the
/// daemon and waits until the daemon reports that it applied (or refused) the file, so that
/// `systemctl reload` returns once the new configuration is in force and fails when it is not.
struct ReloadCommand: Subcommand {
    static let name = "reload"
    static let summary = "check the configuration, make the running daemon reload it and wait"
    static let discussion = [
        "Checks the configuration file as the daemon will read it; a mistake is reported with",
        "its file, line and key, and the daemon is left alone. Otherwise sends SIGHUP to the",
        "daemon PID and waits until the daemon reports, in $RUNTIME_DIRECTORY/reload (the",
        "unit's RuntimeDirectory=), that it runs with the new configuration: connections",
        "renewed when sites changed. It is the unit's ExecReload=, behind 'systemctl reload'.",
    ]
    static let pid = OptionSpec(long: "pid", valueName: "PID", help: "the daemon's process ID ($MAINPID in the unit)")
    static let options = [pid]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "the daemon runs with the new configuration",
        .failure: "the daemon is not running, ended, or did not confirm within 60 s",
        .usage: "bad usage, or no RUNTIME_DIRECTORY to wait through",
        .config: "configuration error: the file was refused (by this check or by the daemon)",
    ]
    static let example = "omnisync reload -c /etc/omnisync/omnisync.conf --pid 4242"

    /// How long the daemon may take: a reload that renews connections waits for every site to
    /// answer, at most 15 s; within the unit's TimeoutStartSec (which bounds ExecReload=).
    static let limit = Duration.seconds(60)

    let shared: SharedOptions
    let daemonPID: pid_t

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        guard let text = arguments.value(Self.pid.long) else {
            throw .usage(message: "missing option --pid", command: Self.name)
        }
        guard let value = pid_t(text), value > 0 else {
            throw .usage(message: "'\(text)' is not a process ID", command: Self.name)
        }
        daemonPID = value
    }

    func run() async throws(CommandFailure) {
        _ = try shared.loadConfiguration()
        guard let path = ReloadReport.path(environment: ProcessInfo.processInfo.environment) else {
            throw .usage(
                message: "RUNTIME_DIRECTORY is not set: reload waits through the unit's RuntimeDirectory=;"
                    + " outside systemd, send SIGHUP (kill -HUP \(daemonPID))",
                command: Self.name)
        }
        let before = ReloadReport.read(path: path).flatMap { $0.pid == daemonPID ? $0.generation : nil } ?? 0
        guard kill(daemonPID, SIGHUP) == 0 else {
            throw .failed(message: "cannot signal process \(daemonPID): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + Self.limit
        while ContinuousClock.now < deadline {
            if let report = ReloadReport.read(path: path), report.pid == daemonPID, report.generation > before {
                if let error = report.error {
                    throw .configuration(message: "the daemon refused the configuration: \(error)")
                }
                return
            }
            if kill(daemonPID, 0) != 0 && errno == ESRCH {
                throw .failed(message: "the daemon (process \(daemonPID)) ended during the reload")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        throw .failed(message: "the daemon (process \(daemonPID)) did not confirm the reload within 60 s")
    }
}
