import DaemonKit
import Foundation
import Synchronization

/// Whether a site is reachable, logged once per change: a warning when it goes away (not on
/// every failed attempt), and on recovery how long it was gone and how many attempts failed.
final class SiteHealth: Sendable {
    enum State: Sendable, Equatable {
        case unknown
        case up
        case down(since: Date, failures: Int, reason: String)
        case misconfigured(String)
    }

    let site: String
    private let logger: Logger
    private let state = Mutex<State>(.unknown)
    private let reconnectCount = Mutex<Int>(0)
    /// Opened by the site's first answer (connected, unreachable or misconfigured): readiness awaits it.
    let answered = Latch()

    init(site: String, logger: Logger) {
        self.site = site
        self.logger = logger
    }

    var current: State { state.withLock { $0 } }

    var isUp: Bool { current == .up }

    /// Not known to be down or misconfigured: a site not tried yet counts as reachable.
    var isReachable: Bool {
        switch current {
        case .unknown, .up: true
        case .down, .misconfigured: false
        }
    }

    /// Times the site came back after being down (metrics: reconnects).
    var reconnects: Int { reconnectCount.withLock { $0 } }

    func markUp() {
        let previous = state.withLock { current -> State in
            let old = current
            current = .up
            return old
        }
        answered.open()
        switch previous {
        case .up:
            break
        case .unknown:
            logger.info("site connected", [LogKey.site: site])
        case .misconfigured:
            logger.notice("site usable again", [LogKey.site: site])
        case .down(let since, let failures, _):
            reconnectCount.withLock { $0 += 1 }
            let seconds = Date().timeIntervalSince(since)
            logger.info(
                "site reachable again",
                [LogKey.site: site, "down_s": String(format: "%.1f", seconds), "failed_attempts": failures])
        }
    }

    func markDown(_ error: any Error) {
        let reason = "\(error)"
        let first = state.withLock { current -> Bool in
            if case .down(let since, let failures, _) = current {
                current = .down(since: since, failures: failures + 1, reason: reason)
                return false
            }
            current = .down(since: Date(), failures: 1, reason: reason)
            return true
        }
        answered.open()
        if first {
            logger.warning("site unreachable", [LogKey.site: site, LogKey.error: reason])
        }
    }

    func markMisconfigured(_ problem: SiteProblem) {
        let first = state.withLock { current -> Bool in
            if current == .misconfigured(problem.message) { return false }
            current = .misconfigured(problem.message)
            return true
        }
        answered.open()
        if first {
            logger.error("site not synced", [LogKey.site: site, LogKey.error: problem.message])
        }
    }
}
