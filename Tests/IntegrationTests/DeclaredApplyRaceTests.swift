import Catalog
import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// An application inserts a declared row the target does not hold yet while the daemon applies
/// the same key there (found by the soak: a till's insert was overwritten by a merge that had
/// not seen it). The apply locks the key's state row first, so it sets the row aside and the
/// next apply merges both inserts.
final class DeclaredApplyRaceTests: XCTestCase {
    func testAnApplicationInsertOfANewKeyIsNotOverwrittenByAnApplyOfTheSameKey() async throws {
        let fixture = try await SyncFixture.make(sites: ["web", "store-a"])
        defer { Task { await fixture.tearDown() } }
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        let table = CaptureTable(
            id: TableID(9200), name: QualifiedName(schema: try id("pos"), name: try id("shelf")),
            key: [.init(try id("item"), .text), .init(try id("storeId"), .text), .init(try id("bin"), .text)],
            columns: [
                .init(try id("qty"), SQLType("numeric(12,3)"), .counter), .init(try id("price"), .text, .lww),
                .init(try id("hi"), .bigint, .greatest), .init(try id("state"), .text, .status(SoakDeclared.statuses)),
                .init(try id("note"), .text, .local),
            ],
            rows: .mutable(delete: .addWins))
        for site in fixture.siteNames {
            let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), applicationName: "repro")
            defer { connection.close() }
            try connection.execute(
                script: SoakDeclared.schema.replacingOccurrences(of: "id serial PRIMARY KEY,", with: "")
                    .replacingOccurrences(of: "UNIQUE (item, \"storeId\", bin)", with: "PRIMARY KEY (item, \"storeId\", bin)")
                    + (try CaptureDDL.script(for: table)),
                label: "install")
        }
        let applier = try DeclaredApplier(table: table)
        let key = ["flour", "Store 7", "A1"]
        try await fixture.sql("web", "INSERT INTO pos.shelf (item, \"storeId\", bin, qty) VALUES ($1, $2, $3, 5)", key)

        func daemonSession(_ site: String) throws -> PostgresConnection {
            let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), applicationName: "omnisync")
            _ = try connection.query("SET omnisync.applying = 'on'", label: "applying")
            _ = try connection.query("SET TimeZone = 'UTC'", label: "utc")
            return connection
        }
        let reader = try daemonSession("web")
        let incoming = try applier.readStates(reader, keys: [key]).states
        reader.close()

        // The till at store-a inserts the same new row; its transaction is still open.
        let till = try PostgresConnection.connect(conninfo: fixture.conninfo("store-a"), applicationName: "till")
        _ = try till.query("BEGIN", label: "till begin")
        _ = try till.query("INSERT INTO pos.shelf (item, \"storeId\", bin, qty) VALUES ($1, $2, $3, 7)", key, label: "till insert")

        // Meanwhile the daemon applies web's state of that key at store-a.
        let applied = Task.detached { () -> String in
            do {
                let writer = try daemonSession("store-a")
                defer { writer.close() }
                let outcome = try applier.apply(writer, incoming: incoming)
                return "applied, \(outcome.rowsWritten) row(s) written"
            } catch {
                return "apply failed: \(error)"
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        _ = try till.query("COMMIT", label: "till commit")
        till.close()
        let result = await applied.value

        let visible = try await fixture.value("store-a", "SELECT qty::text FROM pos.shelf")
        let state = try await fixture.value(
            "store-a", "SELECT sites::text || ' ' || \"qty$contrib\"::text FROM omnisync.\"state:pos.shelf\"")
        XCTAssertEqual(result, "applied, 0 row(s) written", "the key was set aside while the till held it")
        XCTAssertEqual(visible, "7.000", "the till's insert stands")
        XCTAssertEqual(state, "{store-a} {7000}", "and its state is the till's, not overwritten")

        // The next apply of web's state merges both inserts.
        let writer = try daemonSession("store-a")
        defer { writer.close() }
        let again = try applier.apply(writer, incoming: incoming)
        XCTAssertEqual(again.rowsWritten, 1)
        let merged = try await fixture.value("store-a", "SELECT qty::text FROM pos.shelf")
        XCTAssertEqual(merged, "12.000", "both inserts count at store-a")
        let sites = try await fixture.value(
            "store-a", "SELECT array_to_string(ARRAY(SELECT unnest(sites) ORDER BY 1), ',') FROM omnisync.\"state:pos.shelf\"")
        XCTAssertEqual(sites, "store-a,web")
    }
}
