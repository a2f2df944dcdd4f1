import Foundation
import MergeCore
import XCTest

@testable import SyncEngine

/// The explanation of a decoded state, without a database: the facts it names and that they add up.
final class RowExplanationTests: XCTestCase {
    /// 50 opened at store-a, store-b sells 2, store-a counts 40 having seen both, the web sells
    /// 3 concurrently, store-a sells 1 after the count.
    private func stockRow() -> CounterRow {
        var storeA = CounterRow(columns: 2)
        storeA.applyLocalDelta(site: "store-a", deltas: [50, 0])
        var storeB = storeA
        storeB.applyLocalDelta(site: "store-b", deltas: [-2, 0])
        var web = storeB
        web.applyLocalDelta(site: "web", deltas: [-3, 0])
        storeA = storeA.merged(with: storeB)
        storeA.applyLocalReset(site: "store-a", column: 0, value: 40, wallClock: 1_796_184_062_123_456)
        storeA.applyLocalDelta(site: "store-a", deltas: [-1, 0])
        return storeA.merged(with: web)
    }

    private func explanation(_ row: CounterRow, visible: [String?]? = ["36", "0"]) -> RowExplanation {
        RowExplanation(site: "web", table: .stock, key: ["sku-1", "store-a"], visible: visible, state: .counter(row))
    }

    func testAStockRowNamesTheCountWhatItHadSeenAndEachSitesChange() {
        let lines = explanation(stockRow()).renderText()
        XCTAssertEqual(
            lines,
            [
                "row: retail.stock sku=sku-1 location=store-a read at site web",
                "clock: {store-a:3,store-b:1,web:1}",
                "on_hand: visible=36 merged=36",
                "  count: counted 40 at site store-a at 2026-12-02T04:01:02.123456Z (hybrid time 1796184062123456)",
                "  the count had seen of store-a: clock=2 contribution=50",
                "  the count had seen of store-b: clock=1 contribution=-2",
                "  site store-a: clock=3 contribution=49 observed=50 since=- 1",
                "  site store-b: clock=1 contribution=-2 observed=-2 since=+ 0",
                "  site web: clock=1 contribution=-3 observed=0 since=- 3",
                "  result: 40 - 1 + 0 - 3 = 36",
                "reserved: visible=0 merged=0",
                "  count: none; every contribution counts in full",
                "  result: 0 = 0",
            ])
    }

    func testAVisibleValueThatDiffersFromTheMergedOneIsFlagged() {
        let lines = explanation(stockRow(), visible: ["37", "0"]).renderText()
        XCTAssertTrue(lines.contains("on_hand: visible=37 merged=36  <- DIFFERS: a delivery is being applied, or the row needs attention"), "\(lines)")
        let json = try? JSONSerialization.jsonObject(with: Data(explanation(stockRow(), visible: ["37", "0"]).renderJSON().utf8))
        let columns = (json as? [String: Any])?["columns"] as? [[String: Any]]
        XCTAssertEqual(columns?.first?["differs"] as? Bool, true)
        XCTAssertEqual(columns?.first?["visible"] as? Int, 37)
    }

    func testTheJSONObjectHasAFixedKeyOrder() {
        let json = explanation(stockRow()).renderJSON()
        XCTAssertTrue(
            json.hasPrefix(
                #"{"site":"web","table":"retail.stock","key":{"sku":"sku-1","location":"store-a"},"state":"counter","#
                    + #""visible":{"on_hand":36,"reserved":0},"clock":{"store-a":3,"store-b":1,"web":1},"columns":[{"name":"on_hand","#
                    + #""visible":36,"merged":36,"differs":false,"reset":{"kind":"count","counted":40,"site":"store-a","#
                    + #""time":"2026-12-02T04:01:02.123456Z","hlc":1796184062123456,"seen":[{"site":"store-a","clock":2,"contribution":50}"#),
            json)
        XCTAssertEqual(json, explanation(stockRow()).renderJSON(), "the same state renders the same text")
    }

    func testACartItemKeptByAnUnseenAddAndOneAllDeletesSaw() {
        var web = CounterRow(columns: 1, resetRule: .joined)
        web.applyLocalDelta(site: "web", deltas: [2])
        var storeA = web
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 1_000_000)
        storeA.applyLocalDelta(site: "store-a", deltas: [1])
        let merged = web.merged(with: storeA)
        let kept = RowExplanation(site: "store-b", table: .cartItems, key: ["cart-2", "sku-1"], visible: ["1"], state: .counter(merged))
        let lines = kept.renderText()
        XCTAssertTrue(lines.contains("present: yes (visible row: yes)"), "\(lines)")
        XCTAssertTrue(lines.contains("  deletes: the latest at site web at 1970-01-01T00:00:01.000000Z (hybrid time 1000000)"), "\(lines)")
        XCTAssertTrue(lines.contains("  not seen by any delete: store-a clock=1 (deletes had seen 0): add wins"), "\(lines)")
        XCTAssertTrue(lines.contains("  result: 0 + 1 + 0 = 1"), "\(lines)")

        var gone = merged
        gone.applyLocalReset(site: "store-b", column: 0, value: 0, wallClock: 2_000_000)
        let deleted = RowExplanation(site: "web", table: .cartItems, key: ["cart-2", "sku-1"], visible: nil, state: .counter(gone))
        let text = deleted.renderText()
        XCTAssertTrue(text.contains("present: no (visible row: no)"), "\(text)")
        XCTAssertTrue(text.contains("  every change was seen by a delete: the item is deleted"), "\(text)")
        XCTAssertFalse(text.joined().contains("DIFFERS"), "\(text)")
        let shown = RowExplanation(site: "web", table: .cartItems, key: ["cart-2", "sku-1"], visible: ["1"], state: .counter(gone))
        XCTAssertTrue(shown.renderText().contains { $0.contains("DIFFERS") }, "a deleted item still visible is flagged")
    }

    func testARecordAndTheRowsThatCannotBeExplained() {
        let record = ImmutableRecord(fields: ["cust-9", "web", "2026-11-30 10:00:00+00"], stamp: HybridTimestamp(time: 0, site: "web"))
        let order = RowExplanation(site: "store-a", table: .orders, key: ["ord-1"], visible: record.fields, state: .record(record))
        XCTAssertTrue(order.isExplained)
        XCTAssertEqual(
            Array(order.renderText().prefix(3)),
            [
                "row: retail.orders order_id=ord-1 read at site store-a",
                "record: created at site web at 1970-01-01T00:00:00.000000Z (hybrid time 0)",
                "  customer_id=cust-9",
            ])
        let broken = RowExplanation(site: "web", table: .stock, key: ["a b", "x"], visible: ["1", "0"], state: .undecodable(reason: "reset arrays differ in length"))
        XCTAssertFalse(broken.isExplained)
        XCTAssertEqual(broken.renderText()[0], #"row: retail.stock sku="a b" location=x read at site web"#)
        XCTAssertEqual(broken.renderText()[1], "state: unreadable: reset arrays differ in length")
        XCTAssertTrue(broken.renderJSON().contains(#""state":"undecodable","error":"reset arrays differ in length""#))
    }

    func testTablesKeysAndTimes() {
        XCTAssertEqual(RowExplanation.table(named: "stock"), .stock)
        XCTAssertEqual(RowExplanation.table(named: "retail.order_lines"), .orderLines)
        XCTAssertNil(RowExplanation.table(named: "pos.stock"))
        XCTAssertNil(RowExplanation.keyProblem(["o", "3"], for: .orderLines))
        XCTAssertEqual(RowExplanation.keyProblem(["o"], for: .orderLines), "retail.order_lines has 2 key column(s) (order_id, line_no), 1 value(s) given")
        XCTAssertEqual(RowExplanation.keyProblem(["o", "x"], for: .orderLines), "line_no must be an integer, not 'x'")
        XCTAssertEqual(RowExplanation.time(-1), "1969-12-31T23:59:59.999999Z")
        XCTAssertEqual(RowExplanation.time(951_782_400_000_001), "2000-02-29T00:00:00.000001Z")
    }
}
