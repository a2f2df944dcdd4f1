import Postgres
import XCTest

final class BackoffTests: XCTestCase {
    func testGrowsExponentiallyUpToTheCap() {
        let backoff = Backoff(initial: 0.1, maximum: 1, multiplier: 2)
        let delays = (0..<6).map { backoff.delay(attempt: $0) }
        XCTAssertEqual(delays, [0.1, 0.2, 0.4, 0.8, 1, 1])
        XCTAssertEqual(backoff.delay(attempt: 1_000_000), 1)
        XCTAssertEqual(backoff.delay(attempt: -3), 0.1)
    }

    func testDefaults() {
        let backoff = Backoff()
        XCTAssertEqual(backoff.delay(attempt: 0), 0.1)
        XCTAssertEqual(backoff.delay(attempt: 3), 0.8, accuracy: 1e-12)
        XCTAssertEqual(backoff.delay(attempt: 20), 10)
    }
}
