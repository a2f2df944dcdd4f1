import MergeCore
import XCTest

/// Named scenarios of stock rows (`on_hand`, `reserved`), each merged in both directions.
final class StockScenarioTests: XCTestCase {
    /// Two sites that have both seen a receipt of `quantity` made at the first one.
    private func sites(_ first: SiteName, _ second: SiteName, stock quantity: Int64) -> (CounterRow, CounterRow) {
        var row = CounterRow(columns: 2)
        row.applyLocalDelta(site: first, deltas: [quantity, 0])
        return (row, CounterRow(columns: 2).merged(with: row))
    }

    /// Both merge orders give the same row; returns it.
    private func mergedBothWays(
        _ a: CounterRow, _ b: CounterRow, file: StaticString = #filePath, line: UInt = #line
    ) -> CounterRow {
        let atA = a.merged(with: b)
        XCTAssertEqual(atA, b.merged(with: a), "merge order changed the result", file: file, line: line)
        return atA
    }

    func testConcurrentSalesAtTwoSitesAddUp() {
        var (web, store) = sites("web", "store-1", stock: 10)
        web.applyLocalDelta(site: "web", deltas: [-1, 1])
        store.applyLocalDelta(site: "store-1", deltas: [-2, 0])
        store.applyLocalDelta(site: "store-1", deltas: [-1, 0])
        let merged = mergedBothWays(web, store)
        XCTAssertEqual(merged.values, [6, 1])
        XCTAssertEqual(merged.merged(with: store).merged(with: web), merged, "redelivery counted twice")
    }

    func testCountConcurrentWithASaleElsewhereKeepsTheUnseenSaleOnTop() {
        var (web, store) = sites("web", "store-1", stock: 10)
        store.applyLocalDelta(site: "store-1", deltas: [-1, 0])
        // The count sees the store's own sale and finds one more item missing.
        store.applyLocalReset(site: "store-1", column: 0, value: 8, wallClock: 100)
        web.applyLocalDelta(site: "web", deltas: [-2, 0])
        let merged = mergedBothWays(web, store)
        XCTAssertEqual(merged.value(column: 0), 6, "the count could not have seen the web's sale of 2")
        XCTAssertEqual(web.merging(store).conflicts, [])
        XCTAssertEqual(store.merging(web).conflicts, [])
    }

    func testConcurrentDisagreeingCountsAreOneConflictWonByTheLaterCount() {
        var (first, second) = sites("store-1", "store-2", stock: 10)
        // The smaller site name counts later: time decides before the name.
        first.applyLocalReset(site: "store-1", column: 0, value: 7, wallClock: 200)
        second.applyLocalReset(site: "store-2", column: 0, value: 9, wallClock: 100)
        let merged = mergedBothWays(first, second)
        XCTAssertEqual(merged.value(column: 0), 7)
        let forward = first.merging(second).conflicts
        XCTAssertEqual(forward.count, 1)
        XCTAssertEqual(forward, second.merging(first).conflicts)
        XCTAssertEqual(forward.first?.column, 0)
        XCTAssertEqual(forward.first?.winner.stamp, HybridTimestamp(time: 200, site: "store-1"))
        XCTAssertEqual(forward.first?.loser.stamp, HybridTimestamp(time: 100, site: "store-2"))
        XCTAssertEqual(forward.first?.loser.base, 9)
    }

    func testConcurrentCountsAtTheSameTimeAreWonByTheGreaterSiteName() {
        var (tenth, second) = sites("store-10", "store-2", stock: 10)
        tenth.applyLocalReset(site: "store-10", column: 0, value: 4, wallClock: 100)
        second.applyLocalReset(site: "store-2", column: 0, value: 5, wallClock: 100)
        let merged = mergedBothWays(tenth, second)
        // Byte order, as PostgreSQL's C collation: "store-2" > "store-10".
        XCTAssertEqual(merged.value(column: 0), 5)
        let forward = tenth.merging(second).conflicts
        XCTAssertEqual(forward.count, 1)
        XCTAssertEqual(forward, second.merging(tenth).conflicts)
        XCTAssertEqual(forward.first?.winner.stamp.site, "store-2")
    }

    func testConcurrentCountsThatAgreeAreNoConflict() {
        var (first, second) = sites("store-1", "store-2", stock: 10)
        first.applyLocalReset(site: "store-1", column: 0, value: 9, wallClock: 100)
        second.applyLocalReset(site: "store-2", column: 0, value: 9, wallClock: 150)
        XCTAssertEqual(mergedBothWays(first, second).value(column: 0), 9)
        XCTAssertEqual(first.merging(second).conflicts, [])
        XCTAssertEqual(second.merging(first).conflicts, [])
    }

    func testCountThatSawTheOtherIsNoConflictEvenWithALaggingClock() {
        var (first, second) = sites("store-1", "store-2", stock: 10)
        first.applyLocalReset(site: "store-1", column: 0, value: 7, wallClock: 200)
        second = second.merged(with: first)
        // store-2's wall clock lags behind the count it has seen: the hybrid clock bumps past it.
        second.applyLocalReset(site: "store-2", column: 0, value: 9, wallClock: 100)
        XCTAssertEqual(second.resets[0]?.stamp, HybridTimestamp(time: 201, site: "store-2"))
        XCTAssertEqual(first.merging(second).conflicts, [])
        XCTAssertEqual(second.merging(first).conflicts, [])
        XCTAssertEqual(mergedBothWays(first, second).value(column: 0), 9, "the later count in causal order wins")
    }

    func testCountResetsOnlyItsColumn() {
        var (web, store) = sites("web", "store-1", stock: 10)
        web.applyLocalDelta(site: "web", deltas: [0, 3])
        store.applyLocalReset(site: "store-1", column: 0, value: 4, wallClock: 100)
        store.applyLocalDelta(site: "store-1", deltas: [-1, 1])
        XCTAssertEqual(mergedBothWays(web, store).values, [3, 4])
    }

    func testConcurrentInsertsOfANewRowAreContributionsThatAddUp() {
        var web = CounterRow(columns: 2)
        var store = CounterRow(columns: 2)
        web.applyLocalDelta(site: "web", deltas: [5, 0])
        store.applyLocalDelta(site: "store-1", deltas: [3, 1])
        XCTAssertEqual(mergedBothWays(web, store).values, [8, 1])
    }
}
