import Synchronization

/// When a link last made progress, so the watchdog can tell a stuck apply from an idle link.
final class LinkProgress: Sendable {
    private struct State {
        var busySince: ContinuousClock.Instant?
        var lastStep = ContinuousClock.now
        var caughtUp = false
    }

    private let state = Mutex(State())

    func started() {
        state.withLock {
            $0.busySince = .now
            $0.lastStep = .now
        }
    }

    func stepped() {
        state.withLock { $0.lastStep = .now }
    }

    func finished(caughtUp: Bool) {
        state.withLock {
            $0.busySince = nil
            $0.lastStep = .now
            $0.caughtUp = caughtUp
        }
    }

    /// Whether the last round ended with nothing left to deliver (false after a failure).
    var isCaughtUp: Bool { state.withLock { $0.caughtUp } }

    /// True unless the link has been inside a round with no step for longer than `limit`.
    func isProgressing(within limit: Duration) -> Bool {
        state.withLock { state in
            guard state.busySince != nil else { return true }
            return ContinuousClock.now - state.lastStep < limit
        }
    }
}
