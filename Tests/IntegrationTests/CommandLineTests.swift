import Foundation
import SyncEngine
import TestSupport
import XCTest

/// The one-shot commands against real databases, through the built binary.
final class CommandLineTests: XCTestCase {
    var fixture: SyncFixture!

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testMigrateTwiceIsANoOpTheSecondTime() async throws {
        fixture = try await SyncFixture.make(migrate: false)
        let first = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("migrated from version 0 to \(Migration.latestVersion)"), first.stdout)
        let tables = try await fixture.value("web", "SELECT count(*) FROM pg_tables WHERE schemaname IN ('retail', 'omnisync')")
        let second = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("up to date"), second.stdout)
        let applied = try await fixture.value("web", "SELECT count(*) FROM omnisync.schema_migrations")
        XCTAssertEqual(applied, String(Migration.latestVersion))
        let tablesAfter = try await fixture.value("web", "SELECT count(*) FROM pg_tables WHERE schemaname IN ('retail', 'omnisync')")
        XCTAssertEqual(tables, tablesAfter)
        let name = try await fixture.value("store-a", "SELECT name FROM omnisync.site")
        XCTAssertEqual(name, "store-a")
    }

    func testMigrateRefusesADatabaseRecordedAsAnotherSite() async throws {
        fixture = try await SyncFixture.make()
        let other = try fixture.writeConfig(
            named: "other.conf", sites: [("store-z", fixture.conninfo("web")), ("store-b", fixture.conninfo("store-b"))])
        let result = try SyncFixture.omnisync(["migrate", "-c", other, "--site", "store-z"])
        XCTAssertEqual(result.status, 78, result.stderr)
        XCTAssertTrue(result.stderr.contains("web") && result.stderr.contains("store-z"), result.stderr)
        let name = try await fixture.value("web", "SELECT name FROM omnisync.site")
        XCTAssertEqual(name, "web", "the recorded name is untouched")
    }

    func testMigrateWithAnUnreachableSiteExits69NamingIt() async throws {
        fixture = try await SyncFixture.make(migrate: false)
        let config = try fixture.writeConfig(
            named: "unreachable.conf",
            sites: [
                ("web", fixture.conninfo("web")),
                ("store-gone", "host=/nonexistent/omnisync-socket port=5999 dbname=pos connect_timeout=2"),
            ])
        let result = try SyncFixture.omnisync(["migrate", "-c", config])
        XCTAssertEqual(result.status, 69, result.stderr)
        XCTAssertTrue(result.stderr.contains("store-gone"), result.stderr)
        let applied = try await fixture.value("web", "SELECT count(*) FROM omnisync.schema_migrations")
        XCTAssertEqual(applied, String(Migration.latestVersion), "the reachable site is still migrated")
    }

    func testStatusAndVerifyWithNoSiteReachableExit69() async throws {
        fixture = try await SyncFixture.make(migrate: false)
        let config = try fixture.writeConfig(
            named: "none.conf",
            sites: [
                ("web", "host=/nonexistent/a port=5999 dbname=x password=hunter2 connect_timeout=2"),
                ("store-a", "postgresql://omnisync:s3cret@/pos?host=/nonexistent/b&connect_timeout=2"),
            ])
        let status = try SyncFixture.omnisync(["status", "-c", config])
        XCTAssertEqual(status.status, 69)
        let verify = try SyncFixture.omnisync(["verify", "-c", config])
        XCTAssertEqual(verify.status, 69)
        for output in [status.stdout, status.stderr, verify.stdout, verify.stderr] {
            XCTAssertFalse(output.contains("hunter2") || output.contains("s3cret"), "a password leaked: \(output)")
        }
    }

    func testVerifyListsUndeliveredChangesAndDifferencesThenPasses() async throws {
        fixture = try await SyncFixture.make()
        await fixture.syncOnce()
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-v', 'store-a', 7, 0)")
        let before = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(before.status, 1)
        XCTAssertTrue(before.stdout.contains("table=stock"), before.stdout)
        XCTAssertTrue(before.stdout.contains("sku-v"), before.stdout)
        XCTAssertTrue(before.stdout.contains("site=store-a peer=web undelivered=1"), before.stdout)
        await fixture.syncOnce()
        let after = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(after.status, 0, after.stdout)
    }

    func testVerifyFindsMetadataThatDisagreesWithVisibleValues() async throws {
        fixture = try await SyncFixture.make()
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('sku-m', 'web', 3, 0)")
        await fixture.syncOnce()
        // A write that bypasses capture: the visible value no longer matches the metadata.
        try await fixture.sql(
            "store-b",
            """
            WITH flag AS (SELECT set_config('omnisync.applying', 'on', true))
            UPDATE retail.stock SET on_hand = 99 FROM flag WHERE sku = 'sku-m'
            """)
        let result = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("site=store-b table=stock"), result.stdout)
        XCTAssertTrue(result.stdout.contains("metadata="), result.stdout)
    }

    func testConflictsJSONAndResolve() async throws {
        fixture = try await SyncFixture.make()
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-c', 'c', 'web', now())")
        try await fixture.sql("web", "INSERT INTO retail.order_lines VALUES ('o-c', 1, 'sku-c', 1)")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "INSERT INTO retail.returns VALUES ('r-ca', 'o-c', 1, 1, 'store-a', now())")
        try await fixture.sql("store-b", "INSERT INTO retail.returns VALUES ('r-cb', 'o-c', 1, 1, 'store-b', now())")
        await fixture.syncOnce()
        let listed = try SyncFixture.omnisync(["conflicts", "-c", fixture.configPath, "--json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let lines = listed.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, listed.stdout)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(object["kind"] as? String, "over_return")
        for field in ["id", "site", "detected_at", "detail"] { XCTAssertNotNil(object[field], field) }
        let id = try XCTUnwrap(object["id"] as? String)
        let resolved = try SyncFixture.omnisync(["conflicts", "resolve", id, "-c", fixture.configPath])
        XCTAssertEqual(resolved.status, 0, resolved.stderr)
        let open = try SyncFixture.omnisync(["conflicts", "-c", fixture.configPath, "--json"])
        XCTAssertEqual(open.stdout, "")
        let all = try SyncFixture.omnisync(["conflicts", "-c", fixture.configPath, "--json", "--all"])
        XCTAssertTrue(all.stdout.contains(id))
        let again = try SyncFixture.omnisync(["conflicts", "resolve", id, "-c", fixture.configPath])
        XCTAssertEqual(again.status, 1, "already resolved: not found")
    }
}
