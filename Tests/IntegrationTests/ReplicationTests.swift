import DaemonKit
import SyncEngine
import TestSupport
import XCTest

/// Every replicated table reaches every site, with an in-process engine.
final class ReplicationTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testStockInsertAndSalesReachEverySite() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-1', 'store-a', 10, 0)")
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'sku-1'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "sku-1", location: "store-a")
            XCTAssertEqual(onHand, 9, "at \(site)")
        }
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'sku-1'")
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'sku-1'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "sku-1", location: "store-a")
            XCTAssertEqual(onHand, 4, "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    /// Targets that follow a source in step share each page of its outbox: one reads it, the
    /// other takes it, and both receive every change.
    func testTargetsInStepShareEachOutboxPage() async throws {
        await fixture.syncOnce()
        let engine = fixture.makeEngine()
        await engine.syncOnce()
        let before = pageCounts(engine, site: "store-a")
        for sale in 1...3 {
            try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ($1, 'store-a', 10, 0)", ["shared-\(sale)"])
        }
        await engine.syncOnce()
        await engine.shutdown()
        let after = pageCounts(engine, site: "store-a")
        XCTAssertGreaterThan(after.shared, before.shared, "the second target took the page the first one read")
        XCTAssertGreaterThan(after.reads, before.reads)
        for site in fixture.siteNames {
            for sale in 1...3 {
                let onHand = try await fixture.onHand(site, sku: "shared-\(sale)", location: "store-a")
                XCTAssertEqual(onHand, 10, "shared-\(sale) at \(site)")
            }
        }
    }

    private func pageCounts(_ engine: SyncEngine, site: String) -> (reads: Double, shared: Double) {
        let metrics = engine.metricsSnapshot().families
        func value(_ name: String) -> Double {
            metrics[name]?.samples.first { $0.labels["site"] == site }?.value ?? -1
        }
        return (value("omnisync_outbox_pages_read_total"), value("omnisync_outbox_pages_shared_total"))
    }

    func testOrdersLinesAndReturnsReachEverySite() async throws {
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-1', 'c-1', 'web', '2026-11-20 10:00:00+00')")
        try await fixture.sql("web", "INSERT INTO retail.order_lines VALUES ('o-1', 1, 'sku-1', 2)")
        await fixture.syncOnce()
        try await fixture.sql("store-b", "INSERT INTO retail.returns VALUES ('r-1', 'o-1', 1, 1, 'store-b', now())")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let returned = try await fixture.value(
                site, "SELECT returned FROM retail.order_line_returns WHERE order_id = 'o-1' AND line_no = 1")
            XCTAssertEqual(returned, "1", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testCartDeleteRemovesItemEverywhere() async throws {
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-1', 'sku-1', 2)")
        await fixture.syncOnce()
        let atStore = try await fixture.value("store-a", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-1'")
        XCTAssertEqual(atStore, "2")
        try await fixture.sql("store-a", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-1'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let count = try await fixture.value(site, "SELECT count(*) FROM retail.cart_items")
            XCTAssertEqual(count, "0", "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 5)
    }

    func testOutboxIsPrunedOnceEverySiteHasReceivedIt() async throws {
        for index in 0..<5 {
            try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ($1, 'store-a', 1, 0)", ["sku-p\(index)"])
        }
        let engine = fixture.makeEngine()
        await engine.syncOnce()
        // The first pass notes what every target has stored; the next prunes below it.
        await engine.pruneOutboxes()
        let afterFirstPass = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox")
        XCTAssertEqual(afterFirstPass, "5", "nothing pruned below positions not yet seen twice")
        await engine.pruneOutboxes()
        await engine.shutdown()
        let left = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox")
        XCTAssertEqual(left, "0")
        let acks = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.delivery_acks")
        XCTAssertEqual(acks, "2", "one acknowledgement per target")
        await fixture.waitForConvergence(timeout: 5)
    }

    func testOutboxIsKeptWhileASiteHasNotReceivedIt() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-k', 'store-a', 1, 0)")
        // A configuration with a fourth site that is never reached.
        var configuration = fixture.configuration
        configuration.sites.append(
            SiteConfig(name: "store-gone", conninfo: "host=/nonexistent/omnisync port=5999 dbname=x connect_timeout=1", line: 0))
        let engine = SyncEngine(configuration: configuration, logger: fixture.logger)
        await engine.syncOnce(rounds: 2)
        await engine.pruneOutboxes()
        await engine.pruneOutboxes()
        await engine.shutdown()
        let left = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox")
        XCTAssertEqual(left, "1", "store-gone has not received it")
        let atWeb = try await fixture.onHand("web", sku: "sku-k", location: "store-a")
        XCTAssertEqual(atWeb, 1, "the reachable sites are served anyway")
    }
}
