import Foundation
import SyncEngine
import TestSupport
import XCTest

/// `retail.stock` routed by location (CONTRACT §8, its main example): each store holds its own
/// stock only, the web hub holds all of it, and a store that sells another location's stock keeps
/// receiving that row, with what others had written before.
final class RetailStockRoutesTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(
            sites: ["web", "store-a", "store-b"], tables: "\n[table retail.stock]\nroute = location location\n",
            siteKeys: ["web": "hub = yes"])
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func stock(_ site: String) async throws -> [String] {
        try await fixture.sql(site, "SELECT sku || '@' || location || '=' || on_hand FROM retail.stock ORDER BY 1").map { $0[0] ?? "" }
    }

    func testEachStoreHoldsItsOwnStockAndAStoreSellingAnothersGetsTheWholeRow() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('A', 'store-a', 10, 0)")
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('B', 'store-b', 20, 0)")
        try await fixture.sql("store-b", "INSERT INTO retail.stock VALUES ('C', 'warehouse', 5, 0)")
        await fixture.syncOnce()
        var web = try await stock("web")
        var storeA = try await stock("store-a")
        var storeB = try await stock("store-b")
        XCTAssertEqual(web, ["A@store-a=10", "B@store-b=20", "C@warehouse=5"], "the hub holds every row")
        XCTAssertEqual(storeA, ["A@store-a=10"], "store-a holds its own stock only")
        XCTAssertEqual(storeB, ["B@store-b=20", "C@warehouse=5"], "its own location, and what it wrote")
        await fixture.waitForConvergence(timeout: 10)

        // store-b sells a unit of store-a's stock, a row it did not hold.
        try await fixture.sql("store-b", "INSERT INTO retail.stock VALUES ('A', 'store-a', -1, 0)")
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'A'")
        await fixture.syncOnce()
        web = try await stock("web")
        storeA = try await stock("store-a")
        storeB = try await stock("store-b")
        XCTAssertEqual(web, ["A@store-a=7", "B@store-b=20", "C@warehouse=5"])
        XCTAssertEqual(storeA, ["A@store-a=7"], "store-b's sale reached the location's store")
        XCTAssertEqual(storeB, ["A@store-a=7", "B@store-b=20", "C@warehouse=5"], "the whole row came back to store-b")
        await fixture.waitForConvergence(timeout: 10)

        // From then on store-b receives that row's changes, and store-a still not store-b's stock.
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'A'")
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'B'")
        await fixture.syncOnce()
        storeA = try await stock("store-a")
        storeB = try await stock("store-b")
        XCTAssertEqual(storeA, ["A@store-a=4"])
        XCTAssertEqual(storeB, ["A@store-a=4", "B@store-b=19", "C@warehouse=5"])
        let verified = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
    }

    func testVerifyReportsAStoreMissingItsOwnStock() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('D', 'store-a', 3, 0)")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "SELECT set_config('omnisync.applying', 'on', false)")
        try await fixture.sql("store-a", "DELETE FROM retail.stock")
        try await fixture.sql("store-a", "DELETE FROM omnisync.stock_state")
        try await fixture.sql("store-a", "SELECT set_config('omnisync.applying', 'off', false)")
        let report = await fixture.verify()
        XCTAssertTrue(report.differences.contains { $0.hasPrefix("table=stock") && $0.contains("store-a=(missing)") }, report.render())
        XCTAssertFalse(report.differences.contains { $0.contains("store-b=") }, "store-b is not routed the row: \(report.render())")
    }
}
