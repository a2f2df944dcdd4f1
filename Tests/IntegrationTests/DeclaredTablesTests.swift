import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// The application's own tables, declared in `[table]` sections, installed by `omnisync migrate`
/// and replicated by the running engine — on tables shaped like a real point of sale's: a serial
/// surrogate key beside a three-column natural key with a camelCase column, a `numeric` counter,
/// `jsonb` and `timestamptz` values, a uuid key, a status, an insert-only table.
final class DeclaredTablesTests: XCTestCase {
    static let schema = """
        CREATE SCHEMA pos;
        CREATE SCHEMA shop;
        CREATE TABLE pos.inventory (
            id serial PRIMARY KEY,
            item_id integer NOT NULL,
            "storeId" text NOT NULL,
            lot text NOT NULL,
            qty numeric(12,3) NOT NULL DEFAULT 0,
            price numeric(10,2),
            "lastSoldAt" timestamptz,
            attrs jsonb,
            till_note text DEFAULT 'local note',
            UNIQUE (item_id, "storeId", lot)
        );
        CREATE TABLE shop.customer (
            customer_id uuid PRIMARY KEY,
            name text,
            tier text,
            visits integer NOT NULL DEFAULT 0
        );
        CREATE TABLE pos.receipt (
            receipt_no bigint PRIMARY KEY,
            total numeric(10,2) NOT NULL,
            issued_at timestamptz NOT NULL
        );
        """

    static let tables = """

        [table pos.inventory]
        key = item_id, "storeId", lot
        column.id = local
        column.qty = counter
        column."lastSoldAt" = greatest
        column.till_note = local
        check.negative_stock = qty >= 0

        [table shop.customer]
        column.tier = status(bronze, silver, gold)
        column.visits = counter
        delete = refuse

        [table pos.receipt]
        rows = insert_only

        """

    static let customer = "7c1e7a52-54a4-4b7e-9d55-3f0c4ed0b1a1"

    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a"], migrate: false, tables: Self.tables, applicationSchema: Self.schema)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func migrate() throws -> (status: Int32, stdout: String, stderr: String) {
        try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
    }

    private func everywhere(_ query: String) async throws -> [String?] {
        var values: [String?] = []
        for site in fixture.siteNames { values.append(try await fixture.value(site, query)) }
        return values
    }

    /// Runs an engine on the fixture while `body` runs.
    private func withEngine(_ body: () async throws -> Void) async throws {
        let engine = fixture.makeEngine()
        let running = Task { await engine.run() }
        do {
            try await body()
        } catch {
            engine.stop()
            await running.value
            throw error
        }
        engine.stop()
        await running.value
    }

    func testVerifyFindsARowThatTheFirstSiteLacks() async throws {
        let migrated = try migrate()
        XCTAssertEqual(migrated.status, 0, migrated.stderr)
        try await fixture.sql("store-a", "INSERT INTO pos.receipt VALUES (7, 12.50, '2026-01-02 10:00+00')")
        await fixture.syncOnce()
        await fixture.waitForConvergence(timeout: 10)
        // Gone from web, the first site, row and state, without a change to deliver.
        try await fixture.sql("web", "SELECT set_config('omnisync.applying', 'on', false)")
        try await fixture.sql("web", "DELETE FROM pos.receipt")
        try await fixture.sql("web", "DELETE FROM omnisync.\"state:pos.receipt\"")
        try await fixture.sql("web", "SELECT set_config('omnisync.applying', 'off', false)")
        let report = await fixture.verify()
        XCTAssertTrue(
            report.differences.contains { $0.hasPrefix("table=pos.receipt") && $0.contains("web=(missing)") },
            report.render())
    }

    func testMigrateInstallsTheCaptureAndTheRowsAlreadyThereReachTheOtherSites() async throws {
        try await fixture.sql(
            "web",
            """
            INSERT INTO pos.inventory (item_id, "storeId", lot, qty, price, "lastSoldAt", attrs, till_note)
            VALUES (42, 'Store 7', 'L-1', 5.250, 9.99, '2026-11-30 10:00:00+01', '{"colour": "red", "size": [1, 2]}', 'web only')
            """)
        let first = try migrate()
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertTrue(first.stdout.contains("web: pos.inventory: installed, 1 existing row(s) captured"), first.stdout)
        XCTAssertTrue(first.stdout.contains("store-a: pos.inventory: installed"), first.stdout)
        let again = try migrate()
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stdout.contains("installed"), "a second migrate changes nothing:\n\(again.stdout)")
        XCTAssertTrue(again.stdout.contains("up to date"), again.stdout)

        try await withEngine {
            try await eventually(timeout: 20, "the row held before migrate reaches store-a") {
                try await self.fixture.value("store-a", "SELECT qty::text FROM pos.inventory WHERE item_id = 42") == "5.250"
            }
            let row = try await fixture.sql(
                "store-a",
                """
                SELECT price::text, to_char("lastSoldAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), attrs->>'colour', till_note
                FROM pos.inventory WHERE item_id = 42 AND "storeId" = 'Store 7' AND lot = 'L-1'
                """)
            XCTAssertEqual(row.first, ["9.99", "2026-11-30 09:00", "red", "local note"], "local columns get the site's default")

            // A sale at each till, concurrently: both count, to the gram.
            try await fixture.sql("web", "UPDATE pos.inventory SET qty = qty - 1.000 WHERE item_id = 42")
            try await fixture.sql("store-a", "UPDATE pos.inventory SET qty = qty - 0.125, \"lastSoldAt\" = '2026-12-01 08:00+00' WHERE item_id = 42")
            try await fixture.sql("web", "UPDATE pos.inventory SET \"lastSoldAt\" = '2026-11-01 08:00+00' WHERE item_id = 42")
            try await eventually(timeout: 20, "both sales everywhere") {
                try await self.everywhere("SELECT qty::text FROM pos.inventory") == ["4.125", "4.125"]
            }
            try await eventually(timeout: 20, "the latest sale time wins, not the latest write") {
                try await self.everywhere("SELECT to_char(\"lastSoldAt\" AT TIME ZONE 'UTC', 'MM-DD') FROM pos.inventory") == ["12-01", "12-01"]
            }

            // A customer with a uuid key, a status that only moves forward and a visit counter.
            try await fixture.sql("web", "INSERT INTO shop.customer VALUES ($1, 'Ada', 'bronze', 1)", [Self.customer])
            try await eventually(timeout: 20, "the customer reaches the till") {
                try await self.fixture.value("store-a", "SELECT name FROM shop.customer") == "Ada"
            }
            // silver first: were web's gold to arrive before it, store-a's update would be refused as
            // moving the status back (23514), whereas gold never goes back from silver.
            try await fixture.sql("store-a", "UPDATE shop.customer SET tier = 'silver', visits = visits + 1")
            try await fixture.sql("web", "UPDATE shop.customer SET tier = 'gold', visits = visits + 1")
            try await eventually(timeout: 20, "the furthest tier and every visit") {
                try await self.everywhere("SELECT tier || ' ' || visits FROM shop.customer") == ["gold 3", "gold 3"]
            }

            // An insert-only receipt from the till; changing it is refused in the application's statement.
            try await fixture.sql("store-a", "INSERT INTO pos.receipt VALUES (1001, 12.50, '2026-12-02 12:00+00')")
            try await eventually(timeout: 20, "the receipt reaches the web") {
                try await self.fixture.value("web", "SELECT total::text FROM pos.receipt") == "12.50"
            }
            do {
                try await fixture.sql("store-a", "UPDATE pos.receipt SET total = 0")
                XCTFail("an insert-only row was updated")
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, "0A000", "\(error)")
            }

            // A physical count of a numeric counter, through the contract's entry point.
            try await fixture.sql(
                "store-a", "SELECT omnisync.record_count('pos.inventory', ARRAY['42', 'Store 7', 'L-1'], 'qty', 3.5)")
            try await eventually(timeout: 20, "the count everywhere") {
                try await self.everywhere("SELECT qty::text FROM pos.inventory") == ["3.500", "3.500"]
            }
            await fixture.waitForConvergence()
        }
        let explained = try SyncFixture.omnisync(["explain", "-c", fixture.configPath, "--site", "web", "pos.inventory", "42", "Store 7", "L-1"])
        XCTAssertEqual(explained.status, 0, explained.stdout + explained.stderr)
        XCTAssertTrue(explained.stdout.contains("qty"), explained.stdout)
        XCTAssertTrue(explained.stdout.contains("counter"), explained.stdout)
        XCTAssertTrue(explained.stdout.contains("store-a"), "the count's site:\n\(explained.stdout)")
        let unknown = try SyncFixture.omnisync(["explain", "-c", fixture.configPath, "pos.nothing", "1"])
        XCTAssertEqual(unknown.status, 64, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("pos.nothing is not declared"), unknown.stderr)
        // The key's arity is known only at the site (the primary key by default): still a usage error.
        let short = try SyncFixture.omnisync(["explain", "-c", fixture.configPath, "--site", "web", "pos.inventory", "42"])
        XCTAssertEqual(short.status, 64, short.stdout + short.stderr)
        XCTAssertTrue(short.stderr.contains("site web"), short.stderr)
        let ids = try await everywhere("SELECT id::text FROM pos.inventory")
        XCTAssertEqual(ids, ["1", "1"], "each site's serial id comes from its own sequence")
    }

    func testMigrateRefusesAFatalProblemAtOneSiteAndChangesNothingAnywhere() async throws {
        try await fixture.sql("store-a", "ALTER TABLE pos.inventory ALTER COLUMN qty TYPE text")
        let result = try migrate()
        XCTAssertEqual(result.status, 78, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("store-a: pos.inventory column qty: fatal"), result.stderr)
        XCTAssertTrue(result.stderr.contains("fix:"), result.stderr)
        for site in fixture.siteNames {
            let installed = try await fixture.value(site, "SELECT to_regclass('omnisync.site') IS NOT NULL")
            XCTAssertEqual(installed, "f", "nothing was migrated at \(site)")
        }
    }

    func testAColumnAddedLaterIsReplicatedOnlyOnceMigrateCoversIt() async throws {
        XCTAssertEqual(try migrate().status, 0)
        try await fixture.sql("web", "INSERT INTO pos.inventory (item_id, \"storeId\", lot, qty, price) VALUES (1, 's', 'l', 10, 1.00)")
        for site in fixture.siteNames {
            try await fixture.sql(site, "ALTER TABLE pos.inventory ADD COLUMN colour text")
        }
        try await withEngine {
            try await fixture.sql("web", "UPDATE pos.inventory SET colour = 'blue', price = 2.00")
            try await eventually(timeout: 20, "the declared columns keep syncing") {
                try await self.fixture.value("store-a", "SELECT price::text FROM pos.inventory") == "2.00"
            }
            let colour = try await fixture.value("store-a", "SELECT colour FROM pos.inventory")
            XCTAssertNil(colour, "a column migrate has not covered is not replicated")
        }
        let check = try SyncFixture.omnisync(["check", "-c", fixture.configPath])
        XCTAssertTrue(check.stdout.contains("pos.inventory column colour"), check.stdout)
        let status = try SyncFixture.omnisync(["status", "-c", fixture.configPath])
        XCTAssertTrue(status.stdout.contains("table pos.inventory column colour: the column was added after omnisync migrate"), status.stdout)
        let json = try SyncFixture.omnisync(["status", "--json", "-c", fixture.configPath])
        XCTAssertTrue(json.stdout.contains("\"table_drift\":[\"pos.inventory column colour"), json.stdout)
        let covered = try migrate()
        XCTAssertEqual(covered.status, 0, covered.stderr)
        XCTAssertTrue(covered.stdout.contains("pos.inventory: capture updated"), covered.stdout)
        try await withEngine {
            try await fixture.sql("web", "UPDATE pos.inventory SET colour = 'green'")
            try await eventually(timeout: 20, "the new column once migrated") {
                try await self.fixture.value("store-a", "SELECT colour FROM pos.inventory") == "green"
            }
            await fixture.waitForConvergence()
        }
    }

    func testADeclaredColumnDroppedAtOneSiteHoldsItsRowsThereUntilItIsBack() async throws {
        XCTAssertEqual(try migrate().status, 0)
        try await fixture.sql("web", "INSERT INTO pos.inventory (item_id, \"storeId\", lot, qty, price) VALUES (1, 's', 'l', 10, 1.00)")
        try await withEngine {
            try await eventually(timeout: 20, "the row reaches store-a") {
                try await self.fixture.value("store-a", "SELECT qty::text FROM pos.inventory") == "10.000"
            }
            try await fixture.sql("store-a", "ALTER TABLE pos.inventory DROP COLUMN price")
            try await fixture.sql("web", "UPDATE pos.inventory SET qty = qty - 1, price = 1.50")
            try await fixture.sql("web", "INSERT INTO shop.customer VALUES ($1, 'Ada', 'bronze', 0)", [Self.customer])
            try await eventually(timeout: 20, "the other tables keep syncing") {
                try await self.fixture.value("store-a", "SELECT name FROM shop.customer") == "Ada"
            }
            try await eventually(timeout: 20, "the row is quarantined at store-a with the reason") {
                let reason = try await self.fixture.value("store-a", "SELECT reason FROM omnisync.quarantine WHERE k1 = '1'")
                return reason?.contains("price") == true
            }
        }
        let refused = try migrate()
        XCTAssertEqual(refused.status, 78, "a dropped declared column makes migrate refuse")
        XCTAssertTrue(refused.stderr.contains("store-a: pos.inventory column price"), refused.stderr)

        try await fixture.sql("store-a", "ALTER TABLE pos.inventory ADD COLUMN price numeric(10,2)")
        XCTAssertEqual(try migrate().status, 0)
        try await withEngine {
            try await eventually(timeout: 20, "the held change once the column is back") {
                try await self.fixture.value("store-a", "SELECT qty::text || ' ' || price::text FROM pos.inventory") == "9.000 1.50"
            }
            await fixture.waitForConvergence()
        }
        let held = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.quarantine")
        XCTAssertEqual(held, "0")
    }

    func testADaemonRefusesASiteMigratedForOtherDeclarations() async throws {
        XCTAssertEqual(try migrate().status, 0)
        // The file gains a table that migrate has not installed yet.
        let path = try fixture.writeFile(
            "more.conf",
            SyncFixture.configText(sites: fixture.siteNames, conninfos: fixture.conninfos) + Self.tables
                + "\n[table shop.extra]\nkey = id\n")
        let status = try SyncFixture.omnisync(["verify", "-c", path])
        XCTAssertNotEqual(status.status, 0)
        XCTAssertTrue(status.stdout.contains("migrated for other [table] declarations"), status.stdout + status.stderr)
    }
}
