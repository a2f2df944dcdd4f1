import Catalog
import MergeCore
import XCTest

@testable import SyncEngine

/// Apply planning without a database: what a batch of shipped states makes the driver do at one
/// target — state writes, visible inserts, updates and deletes, conflicts with ids the same at
/// every site, quarantine for what cannot be read — and nothing at all the second time.
final class ApplyPlannerTests: XCTestCase {
    private let order = ["placed", "paid", "ready", "cancelled", "collected"]

    private func table(rows: TableSpec.Rows = .mutable(delete: .refuse)) throws -> CaptureTable {
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        return CaptureTable(
            id: TableID(1001), name: QualifiedName(schema: try id("pos"), name: try id("orders")),
            key: [.init(try id("order_id"), .text)],
            columns: [
                .init(try id("points"), .bigint, .counter), .init(try id("status"), .text, .status(order)),
                .init(try id("note"), .text, .local), .init(try id("location"), .text, .lww),
            ],
            rows: rows)
    }

    private func written(_ table: CaptureTable, at site: String, wall: Int64, _ writes: [(Int, ReplicatedRow.ColumnWrite)],
                         onto row: ReplicatedRow? = nil) -> ReplicatedRow {
        var row = row ?? table.emptyRow
        _ = row.applyLocalWrite(site: site, wallClock: wall, isInsert: !row.isPresent, writes: writes.map { ($0.0, $0.1) })
        return row
    }

    func testANewRowIsStoredAndInsertedAndTheSameBatchAgainPlansNothing() throws {
        let table = try table()
        let row = written(table, at: "web", wall: 10, [(0, .delta(5)), (1, .value("placed")), (2, .value("store-a"))])
        let incoming = [["O-1"]: StateEncoding.encode(row)]
        let first = ApplyPlanner.plan(table: table, incoming: incoming, target: [:])
        XCTAssertEqual(first.stateWrites.map(\.key), [["O-1"]])
        XCTAssertEqual(first.visibleWrites, [.init(key: ["O-1"], values: ["5", "placed", "store-a"], isInsert: true)])
        XCTAssertEqual(first.changedRows, [["O-1"]])
        XCTAssertEqual(first.conflicts, [])
        let applied = TargetRow(state: first.stateWrites[0].state, visible: first.visibleWrites[0].values)
        let again = ApplyPlanner.plan(table: table, incoming: incoming, target: [["O-1"]: applied])
        XCTAssertTrue(again.isEmpty, "\(again)")
        XCTAssertEqual(again.changedRows, [])
    }

    func testAnOlderStateChangesNothingAndANewerOneUpdatesTheVisibleRow() throws {
        let table = try table()
        let old = written(table, at: "web", wall: 10, [(0, .delta(5)), (1, .value("placed")), (2, .value("store-a"))])
        let new = written(table, at: "web", wall: 20, [(0, .delta(-2)), (1, .value("paid"))], onto: old)
        let target = [["O-1"]: TargetRow(state: StateEncoding.encode(new), visible: ["3", "paid", "store-a"])]
        XCTAssertTrue(ApplyPlanner.plan(table: table, incoming: [["O-1"]: StateEncoding.encode(old)], target: target).isEmpty)
        let behind = [["O-1"]: TargetRow(state: StateEncoding.encode(old), visible: ["5", "placed", "store-a"])]
        let plan = ApplyPlanner.plan(table: table, incoming: [["O-1"]: StateEncoding.encode(new)], target: behind)
        XCTAssertEqual(plan.visibleWrites, [.init(key: ["O-1"], values: ["3", "paid", "store-a"], isInsert: false)])
        XCTAssertEqual(plan.stateWrites.count, 1)
    }

    func testARowTheTargetHoldsMoreOfGoesBackToASourceNotRoutedIt() throws {
        let table = try table()
        let theirs = written(table, at: "store-b", wall: 10, [(0, .delta(-1))])
        let ours = written(table, at: "store-a", wall: 5, [(0, .delta(-2))])
        let both = ours.merging(theirs).row
        let incoming = [["O-1"]: StateEncoding.encode(theirs)]
        let ahead = [["O-1"]: TargetRow(state: StateEncoding.encode(ours), visible: ["-2", nil, nil])]
        XCTAssertEqual(ApplyPlanner.plan(table: table, incoming: incoming, target: ahead, returnIfAhead: [["O-1"]]).returns, [["O-1"]])
        XCTAssertEqual(ApplyPlanner.plan(table: table, incoming: incoming, target: ahead).returns, [], "a source routed the row gets it anyway")
        // Nothing to return when the source sent all the target has, or more.
        let behind = [["O-1"]: TargetRow(state: StateEncoding.encode(theirs), visible: ["-1", nil, nil])]
        XCTAssertEqual(ApplyPlanner.plan(table: table, incoming: incoming, target: behind, returnIfAhead: [["O-1"]]).returns, [])
        let plan = ApplyPlanner.plan(table: table, incoming: [["O-1"]: StateEncoding.encode(both)], target: ahead, returnIfAhead: [["O-1"]])
        XCTAssertEqual(plan.returns, [])
        XCTAssertEqual(ApplyPlanner.plan(table: table, incoming: incoming, target: [:], returnIfAhead: [["O-1"]]).returns, [])
    }

    func testAnAddWinsDeleteThatSawEverythingDeletesTheVisibleRow() throws {
        let table = try table(rows: .mutable(delete: .addWins))
        let row = written(table, at: "web", wall: 10, [(0, .delta(5)), (2, .value("store-a"))])
        var deleted = row
        deleted.applyLocalDelete(site: "web", wallClock: 30)
        let target = [["O-1"]: TargetRow(state: StateEncoding.encode(row), visible: ["5", nil, "store-a"])]
        let plan = ApplyPlanner.plan(table: table, incoming: [["O-1"]: StateEncoding.encode(deleted)], target: target)
        XCTAssertEqual(plan.visibleDeletes, [["O-1"]])
        XCTAssertEqual(plan.visibleWrites, [])
        XCTAssertEqual(plan.stateWrites.count, 1, "the deletion is kept in the state, so a late write cannot resurrect what it saw")
    }

    func testConcurrentStatusesAreOneConflictWithTheSameIdOnBothSides() throws {
        let table = try table()
        let placed = written(table, at: "web", wall: 10, [(1, .value("ready"))])
        let collected = written(table, at: "store-a", wall: 20, [(1, .value("collected"))], onto: placed)
        let cancelled = written(table, at: "web", wall: 21, [(1, .value("cancelled"))], onto: placed)
        let atWeb = ApplyPlanner.plan(
            table: table, incoming: [["O-1"]: StateEncoding.encode(collected)],
            target: [["O-1"]: TargetRow(state: StateEncoding.encode(cancelled), visible: ["0", "cancelled", nil])])
        let atStore = ApplyPlanner.plan(
            table: table, incoming: [["O-1"]: StateEncoding.encode(cancelled)],
            target: [["O-1"]: TargetRow(state: StateEncoding.encode(collected), visible: ["0", "collected", nil])])
        XCTAssertEqual(atWeb.conflicts.count, 1)
        XCTAssertEqual(atWeb.conflicts.map(\.id), atStore.conflicts.map(\.id))
        XCTAssertEqual(atWeb.conflicts.first?.kind, "concurrent_status")
        XCTAssertEqual(atWeb.conflicts.first?.column, "status")
        let detail = try XCTUnwrap(atWeb.conflicts.first?.detail)
        XCTAssertTrue(detail.contains("\"value\":\"collected\"") && detail.contains("\"value\":\"cancelled\""), detail)
        XCTAssertTrue(detail.contains("\"site\":\"store-a\"") && detail.contains("\"site\":\"web\""), detail)
        XCTAssertEqual(atWeb.visibleWrites.first?.values[1], "collected")
        XCTAssertEqual(atStore.visibleWrites, [], "the store shows collected already")
    }

    func testConcurrentDisagreeingCountsAreAConflictNamingTheColumn() throws {
        let table = try table()
        let base = written(table, at: "web", wall: 10, [(0, .delta(10))])
        var counted = base, recounted = base
        counted.applyLocalCount(site: "web", wallClock: 20, column: 0, counted: 7)
        recounted.applyLocalCount(site: "store-a", wallClock: 21, column: 0, counted: 8)
        let plan = ApplyPlanner.plan(
            table: table, incoming: [["O-1"]: StateEncoding.encode(recounted)],
            target: [["O-1"]: TargetRow(state: StateEncoding.encode(counted), visible: ["7", nil, nil])])
        XCTAssertEqual(plan.conflicts.map(\.kind), ["concurrent_count"])
        XCTAssertEqual(plan.visibleWrites.first?.values[0], "8", "the later count wins")
        XCTAssertTrue(plan.conflicts[0].detail.contains("\"column\":\"points\""))
    }

    func testUnreadableStatesAreQuarantinedAndTheirRowsLeftAlone() throws {
        let table = try table()
        let good = StateEncoding.encode(written(table, at: "web", wall: 10, [(0, .delta(1))]))
        var otherFormat = good
        otherFormat[0] = .integer(9)
        let plan = ApplyPlanner.plan(
            table: table,
            incoming: [["A"]: otherFormat, ["B"]: good, ["C"]: good],
            target: [["C"]: TargetRow(state: Array(good.dropLast()), visible: ["1", nil, nil])])
        XCTAssertEqual(plan.quarantined.map(\.key), [["A"], ["C"]])
        XCTAssertTrue(plan.quarantined[0].reason.hasPrefix("state at source: malformed state: state format 9"), plan.quarantined[0].reason)
        XCTAssertTrue(plan.quarantined[1].reason.hasPrefix("state at target:"), plan.quarantined[1].reason)
        XCTAssertEqual(plan.stateWrites.map(\.key), [["B"]], "the readable row still applies")
    }

    /// The same id inserted at two sites with different content: the later insert wins every
    /// column everywhere, and both sites record one `duplicate_key` conflict with the same id.
    func testAnInsertOnlyRowCreatedTwiceWithDifferentContentIsADuplicateKey() throws {
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        let returns = CaptureTable(
            id: TableID(1002), name: QualifiedName(schema: try id("pos"), name: try id("returns")),
            key: [.init(try id("return_id"), .text)],
            columns: [.init(try id("quantity"), .bigint, .immutable), .init(try id("store"), .text, .immutable)],
            rows: .insertOnly)
        let atWeb = written(returns, at: "web", wall: 10, [(0, .value("1")), (1, .value("web"))])
        let atStore = written(returns, at: "store-a", wall: 12, [(0, .value("2")), (1, .value("store-a"))])
        let web = ApplyPlanner.plan(
            table: returns, incoming: [["R-1"]: StateEncoding.encode(atStore)],
            target: [["R-1"]: TargetRow(state: StateEncoding.encode(atWeb), visible: ["1", "web"])])
        let store = ApplyPlanner.plan(
            table: returns, incoming: [["R-1"]: StateEncoding.encode(atWeb)],
            target: [["R-1"]: TargetRow(state: StateEncoding.encode(atStore), visible: ["2", "store-a"])])
        XCTAssertEqual(web.conflicts.map(\.kind), ["duplicate_key"])
        XCTAssertEqual(web.conflicts.map(\.id), store.conflicts.map(\.id))
        XCTAssertEqual(web.visibleWrites.first?.values, ["2", "store-a"], "the later insert wins every column")
        XCTAssertEqual(store.visibleWrites, [])
        let detail = try XCTUnwrap(web.conflicts.first?.detail)
        XCTAssertTrue(detail.contains("\"winner\":{\"site\":\"store-a\""), detail)
        XCTAssertTrue(detail.contains("\"loser\":{\"site\":\"web\""), detail)
        let same = ApplyPlanner.plan(
            table: returns, incoming: [["R-1"]: StateEncoding.encode(atWeb)],
            target: [["R-1"]: TargetRow(state: StateEncoding.encode(atWeb), visible: ["1", "web"])])
        XCTAssertTrue(same.isEmpty, "the same insert again is no conflict")
    }

    func testKeysArePlannedInByteOrderPartByPart() throws {
        XCTAssertTrue(ApplyPlanner.keyPrecedes(["a", "z"], ["b", "a"]))
        XCTAssertTrue(ApplyPlanner.keyPrecedes(["store-10"], ["store-2"]))
        XCTAssertFalse(ApplyPlanner.keyPrecedes(["x", "1"], ["x", "1"]))
    }
}
