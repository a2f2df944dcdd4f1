import Foundation
import SyncEngine
import TestSupport
import XCTest

/// `retail.cart_items` routed by what sites follow (CONTRACT §8, `route = follow cart cart_id`):
/// a cart started on the phone is at the web hub only, until the till follows it; then it is there
/// within the promptness bound, with every item written before, and the two channels change it
/// together, deletes included; an unfollow takes it away from the till only, except the items the
/// till wrote.
final class RetailCartRoutesTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(
            sites: ["web", "store-a", "store-b"], tables: "\n[table retail.cart_items]\nroute = follow cart cart_id\n",
            siteKeys: ["web": "hub = yes"])
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func cart(_ site: String) async throws -> [String] {
        try await fixture.sql(site, "SELECT cart_id || '/' || sku || '=' || quantity FROM retail.cart_items ORDER BY 1")
            .map { $0[0] ?? "" }
    }

    func testAPhoneCartReachesTheTillThatFollowsItAndLeavesOnUnfollow() async throws {
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('K-1', 'shoe', 1), ('K-1', 'sock', 3), ('K-2', 'hat', 1)")
        try await fixture.sql("store-b", "INSERT INTO retail.cart_items VALUES ('K-9', 'belt', 1)")
        let engine = fixture.makeEngine()
        let running = Task { await engine.run() }
        defer { engine.stop() }
        try await eventually(timeout: 20, "the web holds every cart, the stores their own") {
            try await self.cart("web") == ["K-1/shoe=1", "K-1/sock=3", "K-2/hat=1", "K-9/belt=1"]
        }
        try await eventually(timeout: 20, "verify: each cart where it is routed or held") {
            await self.fixture.verify().differences.isEmpty
        }
        let storeA = try await cart("store-a")
        XCTAssertEqual(storeA, [], "nobody follows a cart at store-a yet")
        var storeB = try await cart("store-b")
        XCTAssertEqual(storeB, ["K-9/belt=1"], "store-b keeps the cart it wrote")

        // The customer walks up to store-a's till with the phone: the till follows the cart.
        let followed = ContinuousClock.now
        try await fixture.sql("store-a", "SELECT omnisync.follow('cart', 'K-1')")
        try await eventually(timeout: 20, "the phone cart at the till") {
            try await self.cart("store-a") == ["K-1/shoe=1", "K-1/sock=3"]
        }
        print("cart followed -> present at the till: \(ContinuousClock.now - followed)")

        // Both channels change it at once: the till adds shoes and removes the socks, the phone adds a scarf.
        try await fixture.sql("store-a", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'K-1' AND sku = 'shoe'")
        try await fixture.sql("store-a", "DELETE FROM retail.cart_items WHERE cart_id = 'K-1' AND sku = 'sock'")
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('K-1', 'scarf', 1)")
        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = quantity + 2 WHERE cart_id = 'K-1' AND sku = 'shoe'")
        try await eventually(timeout: 20, "the same cart in both channels") {
            let web = try await self.cart("web"), till = try await self.cart("store-a")
            return web == ["K-1/scarf=1", "K-1/shoe=4", "K-2/hat=1", "K-9/belt=1"] && till == ["K-1/scarf=1", "K-1/shoe=4"]
        }
        storeB = try await cart("store-b")
        XCTAssertEqual(storeB, ["K-9/belt=1"], "store-b follows no cart: it got none of it")
        try await eventually(timeout: 20, "verify agrees") { await self.fixture.verify().differences.isEmpty }

        // Paid: the till unfollows. The items it never wrote go from the till only; the shoes it changed stay, in sync.
        try await fixture.sql("store-a", "SELECT omnisync.unfollow('cart', 'K-1')")
        try await eventually(timeout: 20, "the scarf gone from the till") {
            try await self.cart("store-a") == ["K-1/shoe=4"]
        }
        try await fixture.sql("web", "UPDATE retail.cart_items SET quantity = quantity + 10 WHERE cart_id = 'K-1'")
        try await eventually(timeout: 20, "the written item kept in sync, the other left out") {
            let web = try await self.cart("web"), till = try await self.cart("store-a")
            return web == ["K-1/scarf=11", "K-1/shoe=14", "K-2/hat=1", "K-9/belt=1"] && till == ["K-1/shoe=14"]
        }
        let webRows = try await cart("web")
        XCTAssertTrue(webRows.contains("K-1/scarf=11"), "the unfollow deleted nothing anywhere else")
        try await eventually(timeout: 20, "verify agrees after the unfollow") { await self.fixture.verify().differences.isEmpty }
        engine.stop()
        await running.value
    }

    /// The route is refused on the tables it cannot be delivered on yet, naming file, line and key.
    func testRoutesNotDeliveredYetAreRefusedNamingFileLineAndKey() throws {
        for (table, route) in [("retail.orders", "follow customer customer_id"), ("retail.stock", "follow store location")] {
            let text = SyncFixture.configText(
                sites: ["web", "store-a"], conninfos: [fixture.conninfo("web"), fixture.conninfo("store-a")], pollIntervalMs: 300)
                + "\n[table \(table)]\nroute = \(route)\n"
            let path = try fixture.writeFile("refused.conf", text)
            let run = try SyncFixture.omnisync(["status", "-c", path])
            XCTAssertEqual(run.status, 78, "\(table): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("refused.conf"), run.stderr)
            XCTAssertTrue(run.stderr.contains("route"), run.stderr)
            XCTAssertTrue(run.stderr.contains("retail.cart_items by 'location COLUMN' or 'follow"), run.stderr)
        }
        let cart = SyncFixture.configText(
            sites: ["web", "store-a"], conninfos: [fixture.conninfo("web"), fixture.conninfo("store-a")], pollIntervalMs: 300)
            + "\n[table retail.cart_items]\nroute = location sku\n"
        let path = try fixture.writeFile("cart.conf", cart)
        let run = try SyncFixture.omnisync(["status", "-c", path])
        XCTAssertEqual(run.status, 0, run.stderr)
    }
}
