import DaemonKit
import Foundation
import XCTest

final class SignalStreamTests: XCTestCase {
    /// Runs `send`, then collects `count` signals from `signals`, giving up after five seconds
    /// so that a lost signal fails the test instead of hanging it.
    func receive(_ count: Int, from signals: SignalStream, after send: () -> Void) async -> [ProcessSignal] {
        let consumer = Task {
            var received: [ProcessSignal] = []
            for await signal in signals {
                received.append(signal)
                if received.count == count { break }
            }
            return received
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(5))
            consumer.cancel()
        }
        send()
        let received = await consumer.value
        timeout.cancel()
        return received
    }

    func testDeliversSignalsInsteadOfDying() async {
        let signals = SignalStream()
        // Sent at once: creating the stream waits until its sources are registered.
        let first = await receive(1, from: signals) { kill(getpid(), SIGHUP) }
        XCTAssertEqual(first, [.hangup])
        let more = await receive(2, from: signals) {
            kill(getpid(), SIGTERM)
            kill(getpid(), SIGINT)
        }
        XCTAssertEqual(Set(more), [.terminate, .interrupt])
    }

    /// libdispatch keeps the disposition it installed; a second stream must not undo it.
    func testALaterStreamStillReceivesSignals() async {
        do {
            let first = await receive(1, from: SignalStream([.hangup])) { kill(getpid(), SIGHUP) }
            XCTAssertEqual(first, [.hangup])
        }
        let second = await receive(1, from: SignalStream([.hangup, .terminate])) { kill(getpid(), SIGHUP) }
        XCTAssertEqual(second, [.hangup])
    }

    func testNames() {
        XCTAssertEqual(ProcessSignal.allCases.map(\.description), ["SIGTERM", "SIGINT", "SIGHUP"])
        XCTAssertEqual(ProcessSignal.terminate.number, SIGTERM)
    }
}
