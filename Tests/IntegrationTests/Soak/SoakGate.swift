import Foundation
import Synchronization

/// Lets a site's application work be paused: a store's server going down is only ever done while
/// none of its transactions is under way, so that no commit is left with an unknown outcome.
final class SoakGate: Sendable {
    private struct State {
        var open = true
        var inFlight = 0
    }

    private let state = Mutex(State())

    /// Waits while the gate is closed, then counts the caller in.
    func enter() async {
        while !state.withLock({ state -> Bool in
            guard state.open else { return false }
            state.inFlight += 1
            return true
        }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    func leave() {
        state.withLock { $0.inFlight -= 1 }
    }

    /// Stops new work and waits for the work under way to finish.
    func close() async {
        state.withLock { $0.open = false }
        while state.withLock({ $0.inFlight }) > 0 {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func open() {
        state.withLock { $0.open = true }
    }

    var isOpen: Bool { state.withLock { $0.open } }
}
