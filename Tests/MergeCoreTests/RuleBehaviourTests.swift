import MergeCore
import XCTest

/// The contract's examples for each rule (CONTRACT §6.3, §7), one by one.
final class RuleBehaviourTests: XCTestCase {
    private let order = ["placed", "paid", "ready", "cancelled", "collected"]

    func testAWriteThatHadSeenAnotherWinsWhateverTheWallClocks() {
        // The store's clock lags far behind: its write, made after seeing the web's, must still win.
        var row = ReplicatedRow(columns: [.lastWriterWins(LastWriterWins())])
        XCTAssertEqual(row.applyLocalWrite(site: "web", wallClock: 5_000, isInsert: true, writes: [(0, .value("9.99"))]), .applied)
        var store = ReplicatedRow(columns: [.lastWriterWins(LastWriterWins())]).merged(with: row)
        XCTAssertEqual(store.applyLocalWrite(site: "store-1", wallClock: 10, isInsert: false, writes: [(0, .value("8.99"))]), .applied)
        XCTAssertEqual(row.merged(with: store).columns[0].visibleValue, "8.99")
        XCTAssertEqual(store.merged(with: row).columns[0].visibleValue, "8.99")
    }

    func testConcurrentLastWritesTieOnTheGreaterSiteName() {
        let a = LastWriterWins(value: "1", stamp: HybridTimestamp(time: 5, site: "store-2"))
        let b = LastWriterWins(value: "2", stamp: HybridTimestamp(time: 5, site: "store-10"))
        let sides = MergeSides(mine: VectorClock(), theirs: VectorClock())
        XCTAssertEqual(a.merged(with: b, sides: sides).value, "1", "store-2 > store-10 in byte order")
        XCTAssertEqual(b.merged(with: a, sides: sides).value, "1")
    }

    func testUpdatingToTheSameValueIsNoWriteButAnInsertIs() {
        var register = LastWriterWins()
        XCTAssertEqual(register.write("a", stamp: HybridTimestamp(time: 1, site: "web")), .applied)
        XCTAssertEqual(register.write("a", stamp: HybridTimestamp(time: 2, site: "web")), .unchanged)
        XCTAssertEqual(register.stamp?.time, 1)
        XCTAssertEqual(register.write("a", stamp: HybridTimestamp(time: 3, site: "web"), always: true), .applied)
        XCTAssertEqual(register.stamp?.time, 3)
    }

    func testGreatestComparesNumbersAsNumbersAndLeastTextAsBytes() {
        var greatest = Extremum(direction: .greatest, ordering: .number)
        for value in ["9", "10", "-3", "9.5"] { _ = greatest.write(value) }
        XCTAssertEqual(greatest.value, "10")
        XCTAssertEqual(greatest.write("100000000000000000000000"), .applied, "beyond Int64 and Double precision")
        XCTAssertEqual(greatest.write("99999999999999999999999.9"), .unchanged)
        var least = Extremum(direction: .least, ordering: .bytes)
        for value in ["b", "B", "é", "a"] { _ = least.write(value) }
        XCTAssertEqual(least.value, "B")
        XCTAssertEqual(least.write(nil), .unchanged, "NULL never wins, as in PostgreSQL's LEAST")
    }

    func testEqualNumbersInDifferentFormsStillMergeDeterministically() {
        let sides = MergeSides(mine: VectorClock(), theirs: VectorClock())
        let a = Extremum(direction: .greatest, ordering: .number, value: "1.0")
        let b = Extremum(direction: .greatest, ordering: .number, value: "1.00")
        XCTAssertEqual(a.merged(with: b, sides: sides), b.merged(with: a, sides: sides))
        XCTAssertEqual(ValueOrdering.number.compare("-0", "0"), .orderedSame)
        XCTAssertEqual(ValueOrdering.number.compare("-2.5", "-10"), .orderedDescending)
        XCTAssertEqual(ValueOrdering.number.compare("0.25", "0.3"), .orderedAscending)
        XCTAssertEqual(ValueOrdering.number.compare("abc", "-1"), .orderedAscending, "not a number sorts first")
    }

    func testStatusMovesOnlyForwardAndRefusesTheRest() {
        var status = ForwardStatus(order: order)
        let clock = VectorClock(["web": 1])
        XCTAssertEqual(status.write("placed", stamp: HybridTimestamp(time: 1, site: "web"), seen: clock), .applied)
        XCTAssertEqual(status.write("ready", stamp: HybridTimestamp(time: 2, site: "web"), seen: clock), .applied)
        XCTAssertEqual(status.write("ready", stamp: HybridTimestamp(time: 3, site: "web"), seen: clock), .unchanged)
        guard case .refused(let backwards) = status.write("paid", stamp: HybridTimestamp(time: 4, site: "web"), seen: clock),
            case .refused(let unknown) = status.write("shipped", stamp: HybridTimestamp(time: 4, site: "web"), seen: clock)
        else { return XCTFail("a backward or unknown status was accepted") }
        XCTAssertTrue(backwards.contains("'ready'") && backwards.contains("'paid'"), backwards)
        XCTAssertTrue(unknown.contains("'shipped'"), unknown)
        XCTAssertEqual(status.value, "ready")
    }

    /// CONTRACT §7: the web cancels while the store hands the goods over.
    func testClickAndCollectCancelledWhileCollectedShowsCollectedAndAConflict() {
        func row() -> ReplicatedRow {
            ReplicatedRow(columns: [.status(ForwardStatus(order: order)), .lastWriterWins(LastWriterWins())])
        }
        var web = row()
        _ = web.applyLocalWrite(site: "web", wallClock: 100, isInsert: true, writes: [(0, .value("placed")), (1, .value("store-a"))])
        var store = row().merged(with: web)
        XCTAssertEqual(store.applyLocalWrite(site: "store-a", wallClock: 200, isInsert: false, writes: [(0, .value("ready"))]), .applied)
        web = web.merged(with: store)
        XCTAssertEqual(store.applyLocalWrite(site: "store-a", wallClock: 300, isInsert: false, writes: [(0, .value("collected"))]), .applied)
        XCTAssertEqual(web.applyLocalWrite(site: "web", wallClock: 310, isInsert: false, writes: [(0, .value("cancelled"))]), .applied)
        let (atWeb, webConflicts) = web.merging(store)
        let (atStore, storeConflicts) = store.merging(web)
        XCTAssertEqual(atWeb, atStore)
        XCTAssertEqual(atWeb.columns[0].visibleValue, "collected")
        for conflicts in [webConflicts, storeConflicts] {
            guard conflicts.count == 1, case .concurrentStatus(let conflict) = conflicts[0].conflict else {
                return XCTFail("expected one concurrent_status conflict, got \(conflicts)")
            }
            XCTAssertEqual(conflict.winner.value, "collected")
            XCTAssertEqual(conflict.winner.stamp.site, "store-a")
            XCTAssertEqual(conflict.loser.value, "cancelled")
            XCTAssertEqual(conflict.loser.stamp.site, "web")
        }
        // A status moved on after seeing the other is no conflict.
        var later = atStore
        XCTAssertEqual(later.applyLocalWrite(site: "web", wallClock: 400, isInsert: false, writes: [(0, .value("collected"))]), .unchanged)
        XCTAssertTrue(store.merging(atWeb).conflicts.count <= 1)
        XCTAssertTrue(atWeb.merging(atStore).conflicts.isEmpty)
    }

    func testARefusedWriteChangesNoColumnOfTheRow() {
        var row = ReplicatedRow(columns: [.counter(CounterColumn(resetRule: .latestWins)), .status(ForwardStatus(order: order))])
        _ = row.applyLocalWrite(site: "web", wallClock: 1, isInsert: true, writes: [(0, .delta(5)), (1, .value("paid"))])
        let before = row
        guard case .refused = row.applyLocalWrite(
            site: "web", wallClock: 2, isInsert: false, writes: [(0, .delta(-1)), (1, .value("placed"))])
        else { return XCTFail("a backward status was accepted") }
        XCTAssertEqual(row, before)
    }

    func testAnAddWinsDeleteKeepsWhatItHadNotSeen() {
        func row() -> ReplicatedRow {
            ReplicatedRow(columns: [.counter(CounterColumn(resetRule: .joined)), .lastWriterWins(LastWriterWins())])
        }
        var web = row()
        _ = web.applyLocalWrite(site: "web", wallClock: 10, isInsert: true, writes: [(0, .delta(2)), (1, .value("gift wrap"))])
        var store = row().merged(with: web)
        web.applyLocalDelete(site: "web", wallClock: 20)
        XCTAssertFalse(web.isPresent)
        _ = store.applyLocalWrite(site: "store-1", wallClock: 21, isInsert: false, writes: [(0, .delta(1))])
        let merged = web.merged(with: store)
        XCTAssertTrue(merged.isPresent, "the concurrent add survives the delete")
        XCTAssertEqual(merged.columns[0].visibleValue, "1", "only what the delete had not seen")
        XCTAssertEqual(merged.columns[1].visibleValue, "gift wrap", "a column the write did not set keeps its value")
        var seenAll = merged
        seenAll.applyLocalDelete(site: "store-1", wallClock: 30)
        XCTAssertFalse(seenAll.merged(with: web).merged(with: store).isPresent)
    }
}
