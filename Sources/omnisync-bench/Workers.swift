import Dispatch
import Foundation
import Synchronization

/// Runs one body per OS thread, each with its own blocking connection, and starts their work at
/// one instant: every body prepares (connects), then calls `ready()`, which returns once all have.
enum Workers {
    struct Outcome<T: Sendable>: Sendable {
        /// Wall-clock µs at which the bodies were released.
        let startedAt: Int64
        let results: [T]
    }

    static func run<T: Sendable>(
        _ count: Int, _ body: @escaping @Sendable (_ index: Int, _ ready: () -> Void) throws -> T
    ) throws -> Outcome<T> {
        let arrived = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        let results = Mutex<[Int: Result<T, any Error>]>([:])
        for index in 0..<count {
            finished.enter()
            let thread = Thread {
                let didArrive = Mutex(false)
                let ready = {
                    didArrive.withLock { $0 = true }
                    arrived.signal()
                    gate.wait()
                }
                let result = Result { try body(index, ready) }
                // A body that failed before it was ready must not hold the others at the gate.
                if !didArrive.withLock({ $0 }) { arrived.signal() }
                results.withLock { $0[index] = result }
                finished.leave()
            }
            thread.start()
        }
        for _ in 0..<count { arrived.wait() }
        let startedAt = WallClock.micros()
        for _ in 0..<count { gate.signal() }
        finished.wait()
        let all = results.withLock { $0 }
        return Outcome(startedAt: startedAt, results: try (0..<count).map { try all[$0]!.get() })
    }
}
