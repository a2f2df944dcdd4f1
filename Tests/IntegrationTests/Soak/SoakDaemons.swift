import Foundation
import Synchronization
import TestSupport

/// The `omnisync run` subprocesses of one soak run: the primary (killed with -9 and restarted)
/// and, at times, a second and a third over the same sites, sharing the links with it. Keeps the
/// warning and error lines of every daemon that ends, for the failure report.
final class SoakDaemons: Sendable {
    private struct State {
        var primary: Subprocess?
        var others: [Subprocess] = []
        var notable: [String] = []
    }

    private let fixture: SyncFixture
    private let state = Mutex(State())

    init(fixture: SyncFixture) {
        self.fixture = fixture
    }

    func startPrimary() throws {
        let daemon = try fixture.startDaemon()
        state.withLock { $0.primary = daemon }
    }

    /// `kill -9`: whatever the daemon was doing is cut off mid-way.
    func killPrimary() throws {
        guard let daemon = state.withLock({ $0.primary }) else { return }
        daemon.signal(SIGKILL)
        _ = try daemon.wait(timeout: 10)
        keep(daemon, as: "primary (killed)")
        state.withLock { $0.primary = nil }
    }

    /// Starts `count` more daemons beside the primary (a second, and a third).
    func startOthers(_ count: Int) throws {
        for _ in 0..<count {
            let daemon = try fixture.startDaemon()
            state.withLock { $0.others.append(daemon) }
        }
    }

    /// Ends the other daemons with SIGTERM (which must exit 0) or SIGKILL.
    func stopOthers(kill: Bool) throws -> String? {
        let others = state.withLock { state -> [Subprocess] in
            defer { state.others = [] }
            return state.others
        }
        var problem: String?
        for daemon in others {
            daemon.signal(kill ? SIGKILL : SIGTERM)
            let termination = try daemon.wait(timeout: 30)
            keep(daemon, as: "other")
            if !kill, termination != .exited(0) {
                problem = (problem ?? "") + "another daemon ended with \(termination) after SIGTERM:\n" + daemon.stderr.suffix(2000)
            }
        }
        return problem
    }

    /// A primary that is gone although nobody killed it (nil when it is running or was never started).
    func primaryProblem() -> String? {
        guard let daemon = state.withLock({ $0.primary }), let termination = daemon.poll() else { return nil }
        return "the daemon ended by itself with \(termination):\n" + daemon.stderr.suffix(3000)
    }

    var isPrimaryRunning: Bool { state.withLock { $0.primary }?.isRunning ?? false }

    /// Stops every daemon with SIGTERM; returns a problem if one did not exit 0.
    func stopAll() throws -> String? {
        var problem = try stopOthers(kill: false)
        if let daemon = state.withLock({ $0.primary }) {
            state.withLock { $0.primary = nil }
            daemon.signal(SIGTERM)
            let termination = try daemon.wait(timeout: 30)
            keep(daemon, as: "primary")
            if termination != .exited(0) {
                problem = (problem ?? "") + "daemon ended with \(termination) after SIGTERM:\n" + daemon.stderr.suffix(2000)
            }
        }
        return problem
    }

    /// Warning and error lines of the daemons that have ended (conflicts are logged at warning).
    var notableLines: [String] { state.withLock { $0.notable } }

    private func keep(_ daemon: Subprocess, as role: String) {
        // OMNISYNC_SOAK_DAEMON_LOGS=DIR keeps each daemon's whole log there, for a replay.
        if let directory = ProcessInfo.processInfo.environment["OMNISYNC_SOAK_DAEMON_LOGS"], !directory.isEmpty {
            try? daemon.stderr.write(toFile: "\(directory)/daemon-\(daemon.pid)-\(role.prefix { $0 != " " }).log", atomically: true, encoding: .utf8)
        }
        let lines = daemon.stderr.split(separator: "\n").filter {
            $0.contains("level=warning") || $0.contains("level=error")
        }
        state.withLock { $0.notable += lines.map { "[\(role) pid \(daemon.pid)] \($0)" } }
    }
}
