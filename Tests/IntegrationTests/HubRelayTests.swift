import Foundation
import SyncEngine
import TestSupport
import XCTest

/// With a hub, two stores have no link between them (cost by recipients, not by sites): the hub
/// relays what one store writes to the others it is routed to — rows routed everywhere, a cart
/// another store follows, and the stock of a location two stores sell from.
final class HubRelayTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(
            sites: ["web", "store-a", "store-b", "store-c"],
            tables: "\n[table retail.stock]\nroute = location location\n\n[table retail.cart_items]\nroute = follow cart cart_id\n",
            siteKeys: ["web": "hub = yes", "store-a": "locations = store-a, mall", "store-b": "locations = store-b, mall"])
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testStoresHaveNoLinkBetweenThemAndTheHubRelaysWhatEachNeeds() async throws {
        let engine = fixture.makeEngine()
        XCTAssertEqual(
            Set(engine.linkNames),
            ["store-a>web", "store-b>web", "store-c>web", "web>store-a", "web>store-b", "web>store-c"],
            "each store to and from the hub, none between stores")
        let running = Task { await engine.run() }
        defer { engine.stop() }

        // Routed everywhere: an order placed at store-a reaches the other stores through the web.
        try await fixture.sql("store-a", "INSERT INTO retail.orders VALUES ('o-1', 'cust-1', 'store-a', now())")
        // A location two stores sell from: each one's sale reaches the other.
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('tee', 'mall', 10, 0)")
        // A cart started at store-c, followed at store-b's till.
        try await fixture.sql("store-c", "INSERT INTO retail.cart_items VALUES ('K-1', 'shoe', 2)")
        try await fixture.sql("store-b", "SELECT omnisync.follow('cart', 'K-1')")
        try await eventually(timeout: 20, "the order at every store, the mall's stock at both its stores, the cart at the till") {
            let orders = try await self.fixture.sql("store-c", "SELECT count(*) FROM retail.orders")
            let mall = try await self.fixture.sql("store-b", "SELECT on_hand FROM retail.stock WHERE sku = 'tee'")
            let cart = try await self.fixture.sql("store-b", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'K-1'")
            return orders == [["1"]] && mall == [["10"]] && cart == [["2"]]
        }
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'tee'")
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'tee'")
        try await fixture.sql("store-b", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'K-1'")
        try await fixture.sql("store-c", "UPDATE retail.cart_items SET quantity = quantity + 5 WHERE cart_id = 'K-1'")
        try await eventually(timeout: 20, "both sales at both mall stores and the web, both cart changes at both tills") {
            for site in ["web", "store-a", "store-b"] {
                let stock = try await self.fixture.sql(site, "SELECT on_hand FROM retail.stock WHERE sku = 'tee'")
                if stock != [["6"]] { return false }
            }
            for site in ["web", "store-b", "store-c"] {
                let cart = try await self.fixture.sql(site, "SELECT quantity FROM retail.cart_items WHERE cart_id = 'K-1'")
                if cart != [["8"]] { return false }
            }
            return true
        }
        let storeC = try await fixture.sql("store-c", "SELECT count(*) FROM retail.stock")
        XCTAssertEqual(storeC, [["0"]], "store-c sells from neither location")
        let cursors = try await fixture.sql(
            "store-b", "SELECT source_site FROM omnisync.cursors WHERE source_site <> 'web' ORDER BY 1")
        XCTAssertEqual(cursors, [], "store-b has a cursor for the hub only")
        try await eventually(timeout: 20, "verify: every row where it is routed, nothing undelivered") {
            await self.fixture.verify().differences.isEmpty
        }
        engine.stop()
        await running.value
    }

    /// A store's sale of its own stock goes no further than the hub: the hub records again only
    /// what another store needs (the mall's stock, an order routed everywhere).
    func testTheHubRelaysOnlyWhatAnotherStoreNeeds() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('own', 'store-a', 10, 0), ('tee', 'mall', 10, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.orders VALUES ('o-1', 'cust-1', 'store-a', now())")
        await fixture.syncOnce()
        let relayed = try await fixture.sql("web", "SELECT table_id::text || ':' || k1 FROM omnisync.outbox ORDER BY 1")
        XCTAssertEqual(relayed, [["1:tee"], ["3:o-1"]], "the hub's outbox: the mall's row and the order, not store-a's own stock")
        await fixture.syncOnce()
        let storeB = try await fixture.sql("store-b", "SELECT sku FROM retail.stock ORDER BY 1")
        XCTAssertEqual(storeB, [["tee"]], "store-b sells from the mall, not from store-a")
        let storeC = try await fixture.sql("store-c", "SELECT count(*) FROM retail.orders")
        XCTAssertEqual(storeC, [["1"]], "the order reached store-c through the hub")
    }
}
