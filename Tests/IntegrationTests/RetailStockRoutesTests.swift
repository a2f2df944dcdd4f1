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

    /// A store added to the configuration (SIGHUP) receives exactly the rows routed to it,
    /// including those written before it joined.
    func testAStoreThatJoinsReceivesExactlyItsOwnStockWrittenBefore() async throws {
        let table = "\n[table retail.stock]\nroute = location location\n"
        let twoSites = SyncFixture.configText(
            sites: ["web", "store-a"], conninfos: [fixture.conninfo("web"), fixture.conninfo("store-a")], pollIntervalMs: 300,
            siteKeys: ["web": "hub = yes"]) + table
        let path = try fixture.writeFile("joining.conf", twoSites)
        let daemon = try fixture.startDaemon(configPath: path)
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('w1', 'store-b', 7, 0)")
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('w2', 'store-a', 4, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('a1', 'store-a', 2, 0)")
        try await eventually("store-a's own stock there") { try await stock("store-a") == ["a1@store-a=2", "w2@store-a=4"] }

        _ = try fixture.writeFile("joining.conf", try String(contentsOfFile: fixture.configPath, encoding: .utf8))
        daemon.signal(SIGHUP)
        try await eventually("store-b holds its own stock, written before it joined") {
            try await stock("store-b") == ["w1@store-b=7"]
        }
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'w1'")
        try await eventually("store-b's sale at the hub") { try await fixture.onHand("web", sku: "w1", location: "store-b") == 6 }
        await fixture.waitForConvergence(timeout: 10)
        let storeA = try await stock("store-a")
        XCTAssertEqual(storeA, ["a1@store-a=2", "w2@store-a=4"], "store-a still holds its own only")
        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.wait(timeout: 20), .exited(0), daemon.stderr.suffix(2000).description)
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
