import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// `omnisync check` from the command line, against real sites: each problem with its site,
/// table, column and fix; 78 for a fatal one, 0 when the declaration fits, 69 for a site out of
/// reach; and every other command refusing a configuration whose tables it cannot replicate yet.
final class CheckCommandTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
        for site in ["web", "store-a"] {
            let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), applicationName: "check-tests")
            defer { connection.close() }
            try connection.execute(
                script: """
                    CREATE SCHEMA pos;
                    CREATE TABLE pos.inventory (
                        id serial PRIMARY KEY, item_id int NOT NULL, store_id text NOT NULL,
                        qty bigint NOT NULL DEFAULT 0, note text, UNIQUE (item_id, store_id));
                    """, label: "create point-of-sale table")
        }
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func config(_ table: String) throws -> String {
        let sites = SyncFixture.configText(sites: fixture.siteNames, conninfos: fixture.conninfos)
        return try fixture.writeFile("check.conf", sites + "\n" + table)
    }

    func testProblemsAreNamedWithTheirFixAndAFatalOneExits78() throws {
        let path = try config("[table pos.inventory]\nkey = item_id, store_id\ncolumn.qty = counter\n")
        let result = try SyncFixture.omnisync(["check", "-c", path])
        XCTAssertEqual(result.status, 78, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains(
            "web: pos.inventory column id: fatal: a sequence (serial or identity) column would be replicated"), result.stdout)
        XCTAssertTrue(result.stdout.contains("    fix: declare column.id = local"), result.stdout)
        XCTAssertTrue(result.stdout.contains("store-b: pos.inventory: fatal: the table does not exist at this site"), result.stdout)
        XCTAssertTrue(result.stdout.contains("fatal: 1 declared table(s) at 3 site(s)"), result.stdout)
    }

    func testAFittingDeclarationPassesAndSiteLimitsTheCheck() throws {
        let path = try config("[table pos.inventory]\nkey = item_id, store_id\ncolumn.id = local\ncolumn.qty = counter\n")
        let one = try SyncFixture.omnisync(["check", "-c", path, "--site", "web"])
        XCTAssertEqual(one.status, 0, one.stdout + one.stderr)
        XCTAssertEqual(one.stdout, "no problems: 1 declared table(s) at 1 site(s)\n")
        let all = try SyncFixture.omnisync(["check", "-c", path])
        XCTAssertEqual(all.status, 78, "store-b lacks the table: \(all.stdout)")
        let unknown = try SyncFixture.omnisync(["check", "-c", path, "--site", "store-z"])
        XCTAssertEqual(unknown.status, 64, unknown.stderr)
    }

    func testACounterOnTextIsFatalNamingTheColumn() throws {
        let path = try config("[table pos.inventory]\nkey = item_id, store_id\ncolumn.id = local\ncolumn.note = counter\n")
        let result = try SyncFixture.omnisync(["check", "-c", path, "--site", "store-a"])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stdout.contains("store-a: pos.inventory column note: fatal: counter on a column of type text"), result.stdout)
    }

    func testAnUnreachableSiteIs69AndTheOthersAreStillChecked() throws {
        let sites = SyncFixture.configText(
            sites: ["web", "store-gone"],
            conninfos: [fixture.conninfo("web"), "host=/nonexistent-omnisync-socket dbname=x connect_timeout=2"])
        let path = try fixture.writeFile(
            "check-gone.conf", sites + "\n[table pos.inventory]\nkey = item_id, store_id\ncolumn.id = local\n")
        let result = try SyncFixture.omnisync(["check", "-c", path])
        XCTAssertEqual(result.status, 69, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("no problems: 1 declared table(s) at 1 site(s)"), result.stdout)
        XCTAssertTrue(result.stderr.contains("site store-gone unreachable"), result.stderr)
    }

    func testOtherCommandsRefuseRoutesTheyCannotFollowYet() throws {
        let path = try config(
            "[table pos.inventory]\nkey = item_id, store_id\ncolumn.id = local\n"
                + "[table pos.lines]\nkey = item_id, store_id\nroute = with pos.inventory (item_id, store_id)\n")
        for command in [["migrate"], ["status"], ["verify"]] {
            let result = try SyncFixture.omnisync(command + ["-c", path])
            XCTAssertEqual(result.status, 78, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("'route = with pos.inventory (item_id, store_id)' is not supported by this version yet"), result.stderr)
        }
        let badKey = try config("[table pos.inventory]\nkey = item_id, store_id\ncolumn.qty = counters\n")
        let result = try SyncFixture.omnisync(["check", "-c", badKey])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("check.conf:") && result.stderr.contains("column.qty"), result.stderr)
    }
}
