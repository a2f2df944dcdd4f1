import MergeCore
import XCTest

final class HybridTimestampTests: XCTestCase {
    func testNextBumpsPastTheHighWaterMarkWhenTheWallClockLags() {
        XCTAssertEqual(
            HybridTimestamp.next(wallClock: 50, highWater: 100, site: "web"), HybridTimestamp(time: 101, site: "web"))
        XCTAssertEqual(HybridTimestamp.next(wallClock: 100, highWater: 100, site: "web").time, 101)
    }

    func testNextFollowsTheWallClockWhenItIsAhead() {
        XCTAssertEqual(HybridTimestamp.next(wallClock: 200, highWater: 100, site: "web").time, 200)
        XCTAssertEqual(HybridTimestamp.next(wallClock: 5, highWater: 0, site: "web").time, 5)
    }

    /// Regression: `highWater &+ 1` wrapped to `Int64.min` on a hostile high-water mark of
    /// `Int64.max`, so a new reset was stamped with the wall clock, far *behind* the row's mark, and
    /// the row's mark then moved backwards to it.
    func testNextNeverWrapsAtTheEndOfTime() {
        XCTAssertEqual(HybridTimestamp.next(wallClock: 5, highWater: .max, site: "web").time, .max)
        var row = CounterRow(columns: 1)
        row.applyLocalReset(site: "web", column: 0, value: 1, wallClock: .max)
        row.applyLocalReset(site: "web", column: 0, value: 2, wallClock: 5)
        XCTAssertEqual(row.highWater, .max, "the high-water mark moved backwards")
        XCTAssertEqual(row.resets[0]?.stamp.time, .max)
    }

    func testOrderIsTimeThenSiteNameByteWise() {
        XCTAssertLessThan(HybridTimestamp(time: 1, site: "z"), HybridTimestamp(time: 2, site: "a"))
        XCTAssertLessThan(HybridTimestamp(time: 1, site: "store-1"), HybridTimestamp(time: 1, site: "store-2"))
        XCTAssertLessThan(HybridTimestamp(time: 1, site: "store-10"), HybridTimestamp(time: 1, site: "store-2"))
        XCTAssertFalse(HybridTimestamp(time: 1, site: "web") < HybridTimestamp(time: 1, site: "web"))
        XCTAssertEqual(HybridTimestamp(time: 7, site: "web").description, "7@web")
    }
}
