import Foundation
import SyncEngine
import TestSupport
import XCTest

/// A change that cannot be read or applied is quarantined and logged once; every other row keeps
/// flowing; later changes of the same row wait behind it until a person retries or discards it.
final class QuarantineTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func quarantined(_ site: String) async throws -> [[String?]] {
        try await fixture.sql(site, "SELECT source_site, table_id, k1, held, reason FROM omnisync.quarantine ORDER BY id")
    }

    func testCorruptedChangeIsQuarantinedAndOthersStillArrive() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('sku-bad', 'web', 10, 0), ('sku-good', 'web', 10, 0)")
        await fixture.syncOnce()
        // Corrupt the metadata of one row at its source: its arrays no longer line up.
        try await fixture.sql("web", "UPDATE omnisync.stock_state SET versions = versions || 7::bigint WHERE sku = 'sku-bad'")
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 1")
        await fixture.syncOnce()
        for site in ["store-a", "store-b"] {
            let good = try await fixture.onHand(site, sku: "sku-good", location: "web")
            XCTAssertEqual(good, 9, "the healthy row arrives at \(site)")
            let bad = try await fixture.onHand(site, sku: "sku-bad", location: "web")
            XCTAssertEqual(bad, 10, "the corrupt change is not applied at \(site)")
            let held = try await quarantined(site)
            XCTAssertEqual(held.count, 1)
            XCTAssertEqual(held.first?[0], "web")
            XCTAssertEqual(held.first?[2], "sku-bad")
            XCTAssertTrue(held.first?[4]?.contains("differ in length") ?? false, "\(held)")
        }
        XCTAssertEqual(fixture.logs.records(withMessage: "row quarantined").count, 2, "logged once per target")
        let status = await StatusCollector(configuration: fixture.configuration).collect()
        XCTAssertEqual(status.sites.first { $0.name == "store-a" }?.quarantined, 1)

        // A later change of the same row waits behind it; other rows still flow.
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 1")
        await fixture.syncOnce()
        let goodAfter = try await fixture.onHand("store-a", sku: "sku-good", location: "web")
        XCTAssertEqual(goodAfter, 8)
        let heldAfter = try await quarantined("store-a")
        XCTAssertEqual(heldAfter.first?[3], "2", "the second change is held too")

        // Fix the cause, retry: the row's current state flows.
        try await fixture.sql("web", "UPDATE omnisync.stock_state SET versions = versions[1:1] WHERE sku = 'sku-bad'")
        let retry = try SyncFixture.omnisync(["quarantine", "retry", "all", "-c", fixture.configPath])
        XCTAssertEqual(retry.status, 0, retry.stderr)
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let bad = try await fixture.onHand(site, sku: "sku-bad", location: "web")
            XCTAssertEqual(bad, 8, "at \(site)")
            let held = try await quarantined(site)
            XCTAssertTrue(held.isEmpty, "released at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testValueTheTargetRejectsIsQuarantinedThenFlowsAfterTheFix() async throws {
        try await fixture.sql("store-b", "ALTER TABLE retail.cart_items ADD CONSTRAINT small_carts CHECK (quantity < 1000)")
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-big', 'sku-1', 5000), ('cart-ok', 'sku-1', 1)")
        await fixture.syncOnce()
        let ok = try await fixture.value("store-b", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-ok'")
        XCTAssertEqual(ok, "1", "the other row of the same batch arrives")
        let big = try await fixture.value("store-b", "SELECT count(*) FROM retail.cart_items WHERE cart_id = 'cart-big'")
        XCTAssertEqual(big, "0")
        let atA = try await fixture.value("store-a", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-big'")
        XCTAssertEqual(atA, "5000", "other sites are not held back")
        // Held from web; and from store-a too if store-a's first sync copied the row on to store-b.
        let held = try await quarantined("store-b").filter { $0[0] == "web" }
        XCTAssertEqual(held.count, 1)
        XCTAssertTrue(held.first?[4]?.contains("23514") ?? false, "the reason carries the SQLSTATE: \(held)")

        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = 4000 WHERE cart_id = 'cart-big'")
        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = 2 WHERE cart_id = 'cart-ok'")
        await fixture.syncOnce()
        let okAfter = try await fixture.value("store-b", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-ok'")
        XCTAssertEqual(okAfter, "2")
        let heldAfter = try await quarantined("store-b").filter { $0[0] == "web" }
        XCTAssertEqual(heldAfter.first?[3], "2", "the later change waits")

        try await fixture.sql("store-b", "ALTER TABLE retail.cart_items DROP CONSTRAINT small_carts")
        let listing = await QuarantineLog(configuration: fixture.configuration).list()
        let fromWeb = try XCTUnwrap(listing.entries.first { $0.source == "web" })
        XCTAssertTrue(fromWeb.id.hasPrefix("store-b:"), fromWeb.id)
        for entry in listing.entries {
            let outcome = await QuarantineLog(configuration: fixture.configuration).perform(.retry, id: entry.id)
            XCTAssertEqual(outcome, .done(count: 1))
        }
        await fixture.syncOnce()
        let bigAfter = try await fixture.value("store-b", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-big'")
        XCTAssertEqual(bigAfter, "4000")
        await fixture.waitForConvergence(timeout: 5)
    }

    func testDiscardStopsHoldingTheRow() async throws {
        try await fixture.sql("store-b", "ALTER TABLE retail.cart_items ADD CONSTRAINT small_carts CHECK (quantity < 1000)")
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-d', 'sku-1', 5000)")
        await fixture.syncOnce()
        // Held at store-b from web, and from store-a too when store-a's first sync copies the row on.
        let listing = await QuarantineLog(configuration: fixture.configuration).list()
        XCTAssertFalse(listing.entries.isEmpty)
        XCTAssertTrue(listing.entries.allSatisfy { $0.site == "store-b" && $0.key.contains("cart-d") }, listing.render(json: true))
        let discarded = try SyncFixture.omnisync(["quarantine", "discard", "all", "-c", fixture.configPath])
        XCTAssertEqual(discarded.status, 0, discarded.stderr)
        let after = await QuarantineLog(configuration: fixture.configuration).list()
        XCTAssertTrue(after.entries.isEmpty)
        try await fixture.sql("store-b", "ALTER TABLE retail.cart_items DROP CONSTRAINT small_carts")
        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart-d'")
        await fixture.syncOnce()
        let quantity = try await fixture.value("store-b", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-d'")
        XCTAssertEqual(quantity, "5001", "the next change carries the whole state")
        let none = try SyncFixture.omnisync(["quarantine", "discard", "store-b:999999", "-c", fixture.configPath])
        XCTAssertEqual(none.status, 1)
        await fixture.waitForConvergence(timeout: 5)
    }
}
