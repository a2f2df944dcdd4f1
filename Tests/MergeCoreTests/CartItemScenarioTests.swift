import MergeCore
import XCTest

/// Named scenarios of cart items: one `quantity` column whose resets are `DELETE`s, add-wins.
/// Carts delete under `ResetRule.joined` (CONTRACT §4: "a DELETE removes only what its site had
/// seen"); scenarios where no two deletes meet hold under either rule and run under both.
final class CartItemScenarioTests: XCTestCase {
    private static let rules: [ResetRule] = [.joined, .latestWins]

    private func cart(_ rule: ResetRule = .joined) -> CounterRow {
        CounterRow(columns: 1, resetRule: rule)
    }

    private func web(adding quantity: Int64, rule: ResetRule = .joined) -> CounterRow {
        var row = cart(rule)
        row.applyLocalDelta(site: "web", deltas: [quantity])
        return row
    }

    /// Both merge orders give the same row and no conflict; returns it.
    private func mergedBothWays(
        _ a: CounterRow, _ b: CounterRow, file: StaticString = #filePath, line: UInt = #line
    ) -> CounterRow {
        let (atA, conflicts) = a.merging(b)
        XCTAssertEqual(atA, b.merged(with: a), "merge order changed the result", file: file, line: line)
        XCTAssertEqual(conflicts, [], file: file, line: line)
        XCTAssertEqual(b.merging(a).conflicts, [], file: file, line: line)
        return atA
    }

    private func assertAbsent(_ row: CounterRow, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(row.isPresent(resetColumn: 0), name, file: file, line: line)
        XCTAssertEqual(row.value(column: 0), 0, name, file: file, line: line)
    }

    func testItemNeverWrittenIsAbsent() {
        for rule in Self.rules {
            XCTAssertFalse(cart(rule).isPresent(resetColumn: 0), "\(rule)")
            XCTAssertTrue(web(adding: 1, rule: rule).isPresent(resetColumn: 0), "\(rule)")
        }
    }

    func testDeleteConcurrentWithAnAddElsewhereKeepsTheAddedQuantity() {
        for rule in Self.rules {
            var web = web(adding: 2, rule: rule)
            var store = cart(rule).merged(with: web)
            web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
            store.applyLocalDelta(site: "store-1", deltas: [1])
            let merged = mergedBothWays(web, store)
            XCTAssertTrue(merged.isPresent(resetColumn: 0), "\(rule)")
            XCTAssertEqual(merged.value(column: 0), 1, "\(rule)")
        }
    }

    func testDeleteThatSawEverythingRemovesTheItemEverywhere() {
        for rule in Self.rules {
            var web = web(adding: 2, rule: rule)
            var store = cart(rule).merged(with: web)
            store.applyLocalDelta(site: "store-1", deltas: [1])
            let storeBeforeDelete = store
            web = web.merged(with: store)
            web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
            store = store.merged(with: web)
            assertAbsent(web, "\(rule) at web")
            assertAbsent(store, "\(rule) at store")
            assertAbsent(store.merged(with: storeBeforeDelete), "\(rule) after a stale redelivery")
        }
    }

    func testAddAfterADeleteBringsTheItemBack() {
        for rule in Self.rules {
            var row = web(adding: 2, rule: rule)
            row.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
            assertAbsent(row, "\(rule)")
            row.applyLocalDelta(site: "web", deltas: [1])
            XCTAssertTrue(row.isPresent(resetColumn: 0), "\(rule)")
            XCTAssertEqual(row.value(column: 0), 1, "\(rule)")
        }
    }

    // MARK: - Deletes that meet (joined)

    /// Regression: each site adds an item and deletes it without seeing the other. With only the
    /// later delete's observations kept, the add that the earlier delete had removed came back:
    /// the item was present with quantity 1.
    func testConcurrentDeletesEachRemoveWhatTheySaw() {
        var web = cart()
        var store = cart()
        web.applyLocalDelta(site: "web", deltas: [1])
        store.applyLocalDelta(site: "store-1", deltas: [1])
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
        store.applyLocalReset(site: "store-1", column: 0, value: 0, wallClock: 100)
        assertAbsent(mergedBothWays(web, store), "merged")
    }

    func testTwoConcurrentDeletesOfTheSameItemsLeaveItAbsentWithQuantityZero() {
        var web = web(adding: 2)
        var store = cart().merged(with: web)
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
        store.applyLocalReset(site: "store-1", column: 0, value: 0, wallClock: 90)
        let merged = mergedBothWays(web, store)
        assertAbsent(merged, "merged")
        XCTAssertEqual(merged.resets[0]?.stamp, HybridTimestamp(time: 100, site: "web"))
        XCTAssertEqual(merged.resets[0]?.clock, merged.clock, "the joined delete has seen every change")
    }

    /// The later delete had seen less than the earlier one: what only the earlier one had seen
    /// stays removed.
    func testLaterDeleteThatSawLessDoesNotBringBackWhatAnEarlierOneRemoved() {
        var web = web(adding: 2)
        var store = cart().merged(with: web)
        store.applyLocalDelta(site: "store-1", deltas: [1])
        store.applyLocalReset(site: "store-1", column: 0, value: 0, wallClock: 100)
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 200)
        assertAbsent(mergedBothWays(web, store), "merged")
    }

    func testConcurrentDeletesKeepAnAddThatNeitherHadSeen() {
        var web = web(adding: 2)
        var first = cart().merged(with: web)
        var second = first
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
        first.applyLocalReset(site: "store-1", column: 0, value: 0, wallClock: 100)
        second.applyLocalDelta(site: "store-2", deltas: [3])
        let merged = mergedBothWays(mergedBothWays(web, first), second)
        XCTAssertEqual(merged, mergedBothWays(web, mergedBothWays(first, second)))
        XCTAssertTrue(merged.isPresent(resetColumn: 0))
        XCTAssertEqual(merged.value(column: 0), 3)
    }

    /// A delete made after merging concurrent deletes replaces their join, and a stale copy of
    /// either earlier delete does not undo it.
    func testDeleteAfterConcurrentDeletesMetReplacesTheirJoin() {
        var web = web(adding: 1)
        var store = cart().merged(with: web)
        store.applyLocalDelta(site: "store-1", deltas: [2])
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
        store.applyLocalReset(site: "store-1", column: 0, value: 0, wallClock: 100)
        let staleStore = store
        web = web.merged(with: store)
        web.applyLocalDelta(site: "web", deltas: [4])
        XCTAssertEqual(web.value(column: 0), 4)
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 50)
        assertAbsent(web, "at web")
        assertAbsent(mergedBothWays(web, staleStore), "after a stale redelivery")
    }
}
