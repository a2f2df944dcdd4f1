import Postgres
import SyncEngine
import TestSupport
import XCTest

/// A v1 chain upgrades in place: `omnisync migrate` brings a site of schema version 5 (v1 with
/// two-phase commit) to the latest without losing what waits in its bookkeeping, and the daemon
/// then delivers it.
final class UpgradeTests: XCTestCase {
    private var fixture: SyncFixture!

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    /// Installs the migrations up to `version` as migrate did then, and records the site.
    private func install(upTo version: Int) throws {
        for site in fixture.siteNames {
            let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), label: "install v\(version)")
            defer { connection.close() }
            for migration in Migration.all where migration.version <= version {
                try connection.execute(
                    script: migration.sql
                        + "\nINSERT INTO omnisync.schema_migrations (version, name) VALUES (\(migration.version), '\(migration.name)');",
                    label: migration.name)
            }
            try connection.query("INSERT INTO omnisync.site (name) VALUES ($1)", [site], label: "record site")
        }
    }

    func testAVersion5SiteKeepsItsUndeliveredChangesAndQuarantineAcrossTheUpgrade() async throws {
        fixture = try await SyncFixture.make(migrate: false)
        try install(upTo: 5)
        // Undelivered sales, and a quarantined row at web, written before the upgrade.
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('before', 'store-a', 10, 0)")
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'before'")
        try await fixture.sql("store-b", "INSERT INTO retail.cart_items VALUES ('cart-1', 'before', 2)")
        try await fixture.sql(
            "web", "INSERT INTO omnisync.quarantine (source_site, table_id, k1, k2, reason) VALUES ('store-a', 1, 'held', 'store-a', 'a test')")

        let first = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("migrated from version 5 to \(Migration.latestVersion)"), first.stdout)
        let second = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("up to date"), second.stdout)

        for (table, column) in [("outbox", "table_id"), ("quarantine", "table_id")] {
            let type = try await fixture.value(
                "web", "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
                ["omnisync.\(table)", column])
            XCTAssertEqual(type, "integer", "omnisync.\(table).\(column) holds declared tables' ids")
        }
        let records = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox WHERE row_key IS NULL")
        XCTAssertEqual(records, "2", "the records written before the upgrade are kept as they were")
        let held = try await fixture.value("web", "SELECT table_id || '/' || k1 || '/' || reason FROM omnisync.quarantine")
        XCTAssertEqual(held, "1/held/a test")

        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "before", location: "store-a")
            XCTAssertEqual(onHand, 7, "at \(site)")
            let quantity = try await fixture.value(site, "SELECT quantity::text FROM retail.cart_items WHERE cart_id = 'cart-1'")
            XCTAssertEqual(quantity, "2", "at \(site)")
        }
        // A change written after the upgrade flows too.
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'before'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "before", location: "store-a")
            XCTAssertEqual(onHand, 6, "at \(site)")
        }
    }
}
