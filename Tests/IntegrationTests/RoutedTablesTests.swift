import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// A declared table routed by location (CONTRACT §8) in a chain of a web hub and two stores:
/// each store holds its own locations' rows only, the hub holds every row, a store that sells
/// another location's stock keeps receiving that row — with what others wrote before it — and
/// `verify` compares each row among the sites it is routed to.
final class RoutedTablesTests: XCTestCase {
    static let schema = """
        CREATE SCHEMA pos;
        CREATE TABLE pos.stock_level (
            sku text,
            location text,
            on_hand integer NOT NULL DEFAULT 0,
            price numeric(10,2),
            PRIMARY KEY (sku, location)
        );
        """

    static let tables = """

        [table pos.stock_level]
        column.on_hand = counter
        column.price = lww
        route = location location

        """

    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(
            sites: ["web", "store-a", "store-b"], migrate: false, tables: Self.tables, applicationSchema: Self.schema,
            siteKeys: ["web": "hub = yes", "store-a": "locations = store-a, store-a-back"])
        let migrated = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(migrated.status, 0, migrated.stdout + migrated.stderr)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func onHand(_ site: String, _ sku: String, _ location: String) async throws -> String? {
        try await fixture.value(site, "SELECT on_hand::text FROM pos.stock_level WHERE sku = $1 AND location = $2", [sku, location])
    }

    private func rows(_ site: String) async throws -> [String] {
        try await fixture.sql(site, "SELECT sku || '@' || location || '=' || on_hand FROM pos.stock_level ORDER BY 1").map { $0[0] ?? "" }
    }

    func testEachStoreHoldsItsOwnLocationsAndTheHubHoldsEveryRow() async throws {
        // Written before the daemon first runs: the first copy is routed too.
        try await fixture.sql("web", "INSERT INTO pos.stock_level VALUES ('A', 'store-b', 5, 2.50)")
        let engine = fixture.makeEngine()
        let running = Task { await engine.run() }
        defer {
            engine.stop()
        }
        try await fixture.sql("web", "INSERT INTO pos.stock_level VALUES ('A', 'store-a', 10, 2.50), ('A', 'store-a-back', 4, 2.50)")
        try await fixture.sql("store-a", "INSERT INTO pos.stock_level VALUES ('B', 'store-a', 3, 1.00)")
        try await eventually(timeout: 20, "each row at the hub and its location's store") {
            let web = try await self.rows("web")
            let a = try await self.rows("store-a")
            let b = try await self.rows("store-b")
            return web == ["A@store-a-back=4", "A@store-a=10", "A@store-b=5", "B@store-a=3"]
                && a == ["A@store-a-back=4", "A@store-a=10", "B@store-a=3"] && b == ["A@store-b=5"]
        }

        // store-b sells a unit of store-a's B (a row it never held): the sale counts at the hub
        // and at store-a, and store-b, now a writer of the row, receives what was there before.
        try await fixture.sql("store-b", "INSERT INTO pos.stock_level (sku, location, on_hand) VALUES ('B', 'store-a', -1)")
        try await eventually(timeout: 20, "the sale everywhere the row is, the rest of the row at the store that sold it") {
            let web = try await self.onHand("web", "B", "store-a")
            let a = try await self.onHand("store-a", "B", "store-a")
            let b = try await self.onHand("store-b", "B", "store-a")
            return [web, a, b] == ["2", "2", "2"]
        }
        // store-b's insert wrote the price too (NULL), later than store-a's 1.00: it wins everywhere.
        for site in fixture.siteNames {
            let price = try await fixture.value(site, "SELECT coalesce(price::text, 'NULL') FROM pos.stock_level WHERE sku = 'B'")
            XCTAssertEqual(price, "NULL", site)
        }
        // Later changes reach the writer like any recipient.
        try await fixture.sql("store-a", "UPDATE pos.stock_level SET on_hand = on_hand - 1, price = 1.20 WHERE sku = 'B'")
        try await eventually(timeout: 20, "store-a's next sale and price at store-b") {
            try await self.fixture.value("store-b", "SELECT on_hand || ' ' || price FROM pos.stock_level WHERE sku = 'B'") == "1 1.20"
        }
        // Rows store-b is not routed stay away, however often they change.
        try await fixture.sql("web", "UPDATE pos.stock_level SET price = 3.00 WHERE sku = 'A'")
        try await eventually(timeout: 20, "the new price at the routed sites") {
            let a = try await self.fixture.value("store-a", "SELECT min(price)::text FROM pos.stock_level WHERE sku = 'A'")
            let b = try await self.fixture.value("store-b", "SELECT min(price)::text FROM pos.stock_level WHERE sku = 'A'")
            return a == "3.00" && b == "3.00"
        }
        let bRows = try await rows("store-b")
        XCTAssertEqual(bRows, ["A@store-b=5", "B@store-a=1"])

        // Every change was delivered where it is routed, or counted as delivered where it is not.
        try await eventually(timeout: 20, "verify finds the routed rows alike and nothing undelivered") {
            await self.fixture.verify().differences.isEmpty
        }
        let report = await fixture.verify()
        XCTAssertEqual(report.render(), "all sites hold the same state\n")
        engine.stop()
        await running.value
    }

    func testVerifyFindsARowMissingWhereItIsRouted() async throws {
        try await fixture.sql("web", "INSERT INTO pos.stock_level VALUES ('C', 'store-b', 7, 1.00)")
        let engine = fixture.makeEngine()
        let running = Task { await engine.run() }
        try await eventually(timeout: 20, "the row at store-b") {
            try await self.onHand("store-b", "C", "store-b") == "7"
        }
        engine.stop()
        await running.value
        let before = await fixture.verify().differences
        XCTAssertEqual(before, [])
        // Changed behind the daemon's back (not captured) at the store it is routed to: a
        // difference between the hub and that store. store-a, which the row is not routed to and
        // which does not hold it, is not compared.
        try await fixture.sql("store-b", "SELECT set_config('omnisync.applying', 'on', false)")
        try await fixture.sql("store-b", "UPDATE pos.stock_level SET on_hand = 99 WHERE sku = 'C'")
        let differences = await fixture.verify().differences
        let row = differences.filter { $0.hasPrefix("table=pos.stock_level") }
        XCTAssertEqual(row.count, 1, "\(differences)")
        XCTAssertTrue(row.first?.contains("web=") == true && row.first?.contains("store-b=\"99,") == true, "\(differences)")
        XCTAssertFalse(row.first?.contains("store-a=") ?? true, "\(differences)")
    }
}
