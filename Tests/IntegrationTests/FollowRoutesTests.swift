import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// A declared table routed by what sites follow (CONTRACT §8): a store that follows a customer
/// gets the customer's rows — written long before — and keeps them in sync; an unfollow takes
/// them away from that store only, except rows it wrote; a follow made while the daemon was down
/// is caught up when it starts.
final class FollowRoutesTests: XCTestCase {
    static let schema = """
        CREATE SCHEMA pos;
        CREATE TABLE pos.card (
            customer_id text PRIMARY KEY,
            points bigint NOT NULL DEFAULT 0,
            name text
        );
        """

    static let tables = """

        [table pos.card]
        column.points = counter
        column.name = lww
        route = follow customer customer_id

        """

    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(
            sites: ["web", "store-a", "store-b"], migrate: false, tables: Self.tables, applicationSchema: Self.schema,
            siteKeys: ["web": "hub = yes"])
        let migrated = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(migrated.status, 0, migrated.stdout + migrated.stderr)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func cards(_ site: String) async throws -> [String] {
        try await fixture.sql(site, "SELECT customer_id || '=' || points || ' ' || coalesce(name, '-') FROM pos.card ORDER BY 1")
            .map { $0[0] ?? "" }
    }

    func testAFollowedCustomerComesKeepsInSyncAndGoesOnUnfollow() async throws {
        try await fixture.sql("web", "INSERT INTO pos.card VALUES ('C-1', 10, 'Ada'), ('C-2', 20, 'Bo'), ('C-3', 30, 'Cy')")
        let engine = fixture.makeEngine()
        let running = Task { await engine.run() }
        defer { engine.stop() }
        try await eventually(timeout: 20, "the web's rows copied nowhere else") {
            await self.fixture.verify().differences.isEmpty
        }
        var empty = try await cards("store-a")
        XCTAssertEqual(empty, [], "nobody follows anyone yet")

        // The till follows two customers: their rows come, written long before.
        try await fixture.sql("store-a", "SELECT omnisync.follow('customer', 'C-1'), omnisync.follow('customer', 'C-2')")
        try await eventually(timeout: 20, "the followed customers at store-a") {
            try await self.cards("store-a") == ["C-1=10 Ada", "C-2=20 Bo"]
        }
        empty = try await cards("store-b")
        XCTAssertEqual(empty, [], "store-b follows nobody")
        // ...and stay in sync both ways.
        try await fixture.sql("web", "UPDATE pos.card SET points = points + 5 WHERE customer_id IN ('C-1', 'C-2')")
        try await fixture.sql("store-a", "UPDATE pos.card SET points = points + 1 WHERE customer_id = 'C-1'")
        try await eventually(timeout: 20, "both changes at both sites") {
            let web = try await self.cards("web"), store = try await self.cards("store-a")
            return web == ["C-1=16 Ada", "C-2=25 Bo", "C-3=30 Cy"] && store == ["C-1=16 Ada", "C-2=25 Bo"]
        }

        // Unfollowed: C-2 (only received) goes from store-a, C-1 (store-a wrote it) stays; nothing
        // goes anywhere else.
        try await fixture.sql("store-a", "SELECT omnisync.unfollow('customer', 'C-1'), omnisync.unfollow('customer', 'C-2')")
        try await eventually(timeout: 20, "C-2 gone from store-a") {
            try await self.cards("store-a") == ["C-1=16 Ada"]
        }
        try await fixture.sql("web", "UPDATE pos.card SET points = points + 100")
        try await eventually(timeout: 20, "the written row kept in sync, the unfollowed one left out") {
            let web = try await self.cards("web"), store = try await self.cards("store-a")
            return web == ["C-1=116 Ada", "C-2=125 Bo", "C-3=130 Cy"] && store == ["C-1=116 Ada"]
        }
        let forgotten = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.follows")
        XCTAssertEqual(forgotten, "0", "an unfollow is forgotten once its rows are gone")
        try await eventually(timeout: 20, "verify compares each row where it is routed or held") {
            await self.fixture.verify().differences.isEmpty
        }
        engine.stop()
        await running.value

        // Followed while the daemon is down: caught up when it starts.
        try await fixture.sql("store-b", "SELECT omnisync.follow('customer', 'C-3')")
        let again = fixture.makeEngine()
        let restarted = Task { await again.run() }
        defer { again.stop() }
        try await eventually(timeout: 20, "C-3 at store-b") {
            try await self.cards("store-b") == ["C-3=130 Cy"]
        }
        again.stop()
        await restarted.value
    }
}
