import Foundation
import SyncEngine
import TestSupport
import XCTest

/// The contract's merge rules, end to end through real databases (in-process engine).
final class MergeScenarioTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func assertOnHand(_ expected: Int64, sku: String, location: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        for site in fixture.siteNames {
            let value = try await fixture.onHand(site, sku: sku, location: location)
            XCTAssertEqual(value, expected, "on_hand of \(sku)/\(location) at \(site)", file: file, line: line)
        }
    }

    private func openConflicts(_ site: String, kind: String) async throws -> [[String?]] {
        try await fixture.sql(
            site, "SELECT id, detail::text, row_key::text FROM omnisync.conflicts WHERE kind = $1 AND resolved_at IS NULL", [kind])
    }

    func testCountKeepsSalesItCouldNotHaveSeen() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-1', 'store-a', 50, 0)")
        await fixture.syncOnce()
        // The web sells 3 that store-a has not seen when it counts 40.
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'sku-1'")
        try await fixture.sql("store-a", "SELECT retail.record_count('sku-1', 'store-a', 40)")
        await fixture.syncOnce()
        try await assertOnHand(37, sku: "sku-1", location: "store-a")
        // A sale after the count at store-a applies normally.
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'sku-1'")
        await fixture.syncOnce()
        try await assertOnHand(36, sku: "sku-1", location: "store-a")
        let conflicts = try await openConflicts("web", kind: "concurrent_count")
        XCTAssertTrue(conflicts.isEmpty)
        await fixture.waitForConvergence(timeout: 5)
    }

    func testConcurrentDisagreeingCountsHaveOneWinnerAndAConflict() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-2', 'store-a', 20, 0)")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "SELECT retail.record_count('sku-2', 'store-a', 18)")
        try await Task.sleep(for: .milliseconds(5))
        try await fixture.sql("web", "SELECT retail.record_count('sku-2', 'store-a', 15)")
        await fixture.syncOnce()
        // The later count (web's) wins everywhere.
        try await assertOnHand(15, sku: "sku-2", location: "store-a")
        var ids = Set<String>()
        for site in ["web", "store-a"] {
            let conflicts = try await openConflicts(site, kind: "concurrent_count")
            ids.formUnion(conflicts.compactMap { $0[0] })
        }
        XCTAssertEqual(ids.count, 1, "one conflict, with the same id wherever it was detected")
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        XCTAssertEqual(listing.entries.filter { $0.kind == "concurrent_count" }.count, 1)
        await fixture.waitForConvergence(timeout: 5)
    }

    func testConcurrentCartAddsAddUp() async throws {
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-1', 'sku-1', 1)")
        await fixture.syncOnce()
        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = quantity + 2 WHERE cart_id = 'cart-1'")
        try await fixture.sql("store-a", "UPDATE retail.cart_items SET quantity = quantity + 3 WHERE cart_id = 'cart-1'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let quantity = try await fixture.value(site, "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-1'")
            XCTAssertEqual(quantity, "6", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testCartDeleteConcurrentWithAddElsewhereKeepsTheAddedItem() async throws {
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-2', 'sku-1', 2)")
        await fixture.syncOnce()
        try await fixture.sql("web", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-2'")
        try await fixture.sql("store-a", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart-2'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let quantity = try await fixture.value(site, "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-2'")
            XCTAssertEqual(quantity, "1", "the concurrently added unit survives at \(site)")
        }
        // A delete that saw everything removes it everywhere.
        try await fixture.sql("store-b", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-2'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let count = try await fixture.value(site, "SELECT count(*) FROM retail.cart_items WHERE cart_id = 'cart-2'")
            XCTAssertEqual(count, "0", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testConcurrentCartDeletesEachRemoveWhatTheySaw() async throws {
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-3', 'sku-1', 1)")
        await fixture.syncOnce()
        // Each site adds one and deletes the item without seeing the other's add.
        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart-3'")
        try await fixture.sql("store-a", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart-3'")
        try await fixture.sql("web", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-3'")
        try await fixture.sql("store-a", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-3'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let count = try await fixture.value(site, "SELECT count(*) FROM retail.cart_items WHERE cart_id = 'cart-3'")
            XCTAssertEqual(count, "0", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testBuyOnlineReturnInStore() async throws {
        try await fixture.sql("store-b", "INSERT INTO retail.stock VALUES ('sku-9', 'store-b', 5, 0)")
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-9', 'c-9', 'web', '2026-11-20 10:00:00+00')")
        try await fixture.sql("web", "INSERT INTO retail.order_lines VALUES ('o-9', 1, 'sku-9', 1)")
        await fixture.syncOnce()
        for site in ["store-a", "store-b"] {
            let lines = try await fixture.value(site, "SELECT count(*) FROM retail.order_lines WHERE order_id = 'o-9'")
            XCTAssertEqual(lines, "1", "order line at \(site)")
        }
        // The return in store: one transaction, return row and stock +1 at the store's location.
        try await fixture.sql(
            "store-b",
            """
            WITH r AS (INSERT INTO retail.returns VALUES ('r-9', 'o-9', 1, 1, 'store-b', now()) RETURNING 1)
            UPDATE retail.stock SET on_hand = on_hand + 1 WHERE sku = 'sku-9' AND location = 'store-b'
            """)
        await fixture.syncOnce()
        try await assertOnHand(6, sku: "sku-9", location: "store-b")
        for site in fixture.siteNames {
            let returned = try await fixture.value(
                site, "SELECT returned FROM retail.order_line_returns WHERE order_id = 'o-9' AND line_no = 1")
            XCTAssertEqual(returned, "1", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testConcurrentReturnsBeyondTheQuantityRaiseOverReturn() async throws {
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-7', 'c-7', 'web', now())")
        try await fixture.sql("web", "INSERT INTO retail.order_lines VALUES ('o-7', 1, 'sku-7', 1)")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "INSERT INTO retail.returns VALUES ('r-7a', 'o-7', 1, 1, 'store-a', now())")
        try await fixture.sql("store-b", "INSERT INTO retail.returns VALUES ('r-7b', 'o-7', 1, 1, 'store-b', now())")
        await fixture.syncOnce()
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        let overReturns = listing.entries.filter { $0.kind == "over_return" }
        XCTAssertEqual(overReturns.count, 1, listing.render(json: true))
        let detail = try JSONSerialization.jsonObject(with: Data((overReturns.first?.detail ?? "{}").utf8)) as? [String: Any]
        XCTAssertEqual(detail?["returned"] as? Int, 2)
        XCTAssertEqual(detail?["bought"] as? Int, 1)
        let json = listing.render(json: true)
        let object = try JSONSerialization.jsonObject(with: Data(json.split(separator: "\n")[0].utf8)) as? [String: Any]
        for field in ["id", "kind", "site", "detected_at", "detail"] {
            XCTAssertNotNil(object?[field], "json has \(field)")
        }
        // Both returns are kept everywhere: nothing is lost.
        for site in fixture.siteNames {
            let returned = try await fixture.value(site, "SELECT returned FROM retail.order_line_returns WHERE order_id = 'o-7'")
            XCTAssertEqual(returned, "2", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testReturnArrivingBeforeItsOrderIsKeptAndCounted() async throws {
        // store-a learns of the return before the order reaches it.
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-5', 'c-5', 'web', now())")
        try await fixture.sql("web", "INSERT INTO retail.order_lines VALUES ('o-5', 1, 'sku-5', 2)")
        try await fixture.sql("store-b", "INSERT INTO retail.returns VALUES ('r-5', 'o-5', 1, 1, 'store-b', now())")
        let engine = fixture.makeEngine()
        defer { Task { await engine.shutdown() } }
        // Deliver only store-b's changes first.
        for link in engine.linkNames where link.hasPrefix("store-b>") {
            await engine.deliver(link: link)
        }
        let early = try await fixture.value("store-a", "SELECT count(*) FROM retail.returns WHERE return_id = 'r-5'")
        XCTAssertEqual(early, "1", "the return is kept without its order")
        let noLine = try await fixture.value("store-a", "SELECT count(*) FROM retail.order_line_returns WHERE order_id = 'o-5'")
        XCTAssertEqual(noLine, "0")
        await engine.syncOnce()
        let returned = try await fixture.value("store-a", "SELECT returned FROM retail.order_line_returns WHERE order_id = 'o-5'")
        XCTAssertEqual(returned, "1")
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        XCTAssertTrue(listing.entries.isEmpty, "a return before its order is no conflict: \(listing.render(json: true))")
        await fixture.waitForConvergence(timeout: 5)
    }

    func testConcurrentSalesBelowZeroRecordOversellAndLoseNothing() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-3', 'store-a', 2, 0)")
        await fixture.syncOnce()
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'sku-3'")
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'sku-3'")
        await fixture.syncOnce()
        try await assertOnHand(-1, sku: "sku-3", location: "store-a")
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        XCTAssertEqual(listing.entries.filter { $0.kind == "oversell" }.count, 1, listing.render(json: false))
        guard let id = listing.entries.first?.id else { return XCTFail("no conflict") }
        let outcome = await ConflictLog(configuration: fixture.configuration).resolve(id: id)
        guard case .resolved(let sites) = outcome else { return XCTFail("not resolved: \(outcome)") }
        XCTAssertFalse(sites.isEmpty)
        let after = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        XCTAssertTrue(after.entries.isEmpty)
        await fixture.waitForConvergence(timeout: 5)
    }

    func testSameOrderIDWithDifferentContentIsADuplicateKeyWithOneWinner() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.orders VALUES ('o-dup', 'alice', 'store', now())")
        try await Task.sleep(for: .milliseconds(5))
        try await fixture.sql("store-b", "INSERT INTO retail.orders VALUES ('o-dup', 'bob', 'store', now())")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let customer = try await fixture.value(site, "SELECT customer_id FROM retail.orders WHERE order_id = 'o-dup'")
            XCTAssertEqual(customer, "bob", "the later version wins at \(site)")
        }
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        let duplicates = listing.entries.filter { $0.kind == "duplicate_key" }
        XCTAssertEqual(duplicates.count, 1)
        XCTAssertTrue(duplicates.first?.detail.contains("alice") ?? false, "the loser is kept in the detail")
        await fixture.waitForConvergence(timeout: 5)
    }

    func testConcurrentInsertsOfANewStockRowAreContributions() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('sku-new', 'dc-1', 4, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-new', 'dc-1', 6, 1)")
        await fixture.syncOnce()
        try await assertOnHand(10, sku: "sku-new", location: "dc-1")
        await fixture.waitForConvergence(timeout: 5)
    }

    func testHostileValuesReplicateIntact() async throws {
        let values = [
            "it's \"quoted\"", "back\\slash\\\\", "new\nline\ttab", "emoji 🛒🧾 ünïcödé", "{braces,commas}", "NULL",
            String(repeating: "long-sku-", count: 1200),
        ]
        for (index, value) in values.enumerated() {
            try await fixture.sql("web", "INSERT INTO retail.stock VALUES ($1, $2, $3, 0)", [value, value, String(index + 1)])
            try await fixture.sql("store-a", "INSERT INTO retail.cart_items VALUES ($1, $2, 1)", [value, value])
            try await fixture.sql("store-b", "INSERT INTO retail.orders VALUES ($1, $2, $3, now())", [value, value, value])
        }
        await fixture.syncOnce()
        for site in fixture.siteNames {
            for (index, value) in values.enumerated() {
                let onHand = try await fixture.onHand(site, sku: value, location: value)
                XCTAssertEqual(onHand, Int64(index + 1), "stock \(value.prefix(20)) at \(site)")
                let cart = try await fixture.value(site, "SELECT quantity FROM retail.cart_items WHERE cart_id = $1 AND sku = $1", [value])
                XCTAssertEqual(cart, "1")
                let customer = try await fixture.value(site, "SELECT customer_id FROM retail.orders WHERE order_id = $1", [value])
                XCTAssertEqual(customer, value)
            }
        }
        await fixture.waitForConvergence(timeout: 10)
    }
}
