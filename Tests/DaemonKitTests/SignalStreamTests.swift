import DaemonKit
import Foundation
import XCTest

final class SignalStreamTests: XCTestCase {
    func testDeliversSignalsInsteadOfDying() async throws {
        let signals = SignalStream([.hangup, .terminate])
        var iterator = signals.makeAsyncIterator()
        // The dispatch source is armed when the stream is created; the process survives
        // because the default action was replaced.
        kill(getpid(), SIGHUP)
        let first = await iterator.next()
        XCTAssertEqual(first, .hangup)
        kill(getpid(), SIGTERM)
        let second = await iterator.next()
        XCTAssertEqual(second, .terminate)
    }

    func testNames() {
        XCTAssertEqual(ProcessSignal.allCases.map(\.description), ["SIGTERM", "SIGINT", "SIGHUP"])
        XCTAssertEqual(ProcessSignal.terminate.number, SIGTERM)
    }
}
