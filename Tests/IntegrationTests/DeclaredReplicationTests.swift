import Catalog
import MergeCore
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// A declared table replicated end to end between two real sites, without the daemon's loop: the
/// generated capture records each site's writes, `DeclaredApplier` reads the states at one site and
/// joins them into the other. Concurrent inserts of one key are one row whose counters add up; a
/// status the web cancelled while the store handed the goods over ends `collected` at both with a
/// conflict; after seeded random writes at both sites and exchanges both ways, the two sites hold
/// the same rows and the same states.
final class DeclaredReplicationTests: XCTestCase {
    private var fixture: SyncFixture!
    private let statuses = ["placed", "paid", "ready", "cancelled", "collected"]
    private var table: CaptureTable!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a"])
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        table = CaptureTable(
            id: TableID(9100), name: QualifiedName(schema: try id("pos"), name: try id("Orders")),
            key: [.init(try id("order_id"), .text), .init(try id("store_id"), .integer)],
            columns: [
                .init(try id("points"), .bigint, .counter), .init(try id("status"), .text, .status(statuses)),
                .init(try id("pickup"), .text, .lww), .init(try id("till_note"), .text, .local),
                .init(try id("last_scan"), .timestamptz, .greatest), .init(try id("kg"), SQLType("numeric(12,3)"), .counter),
            ],
            rows: .mutable(delete: .addWins))
        for site in ["web", "store-a"] {
            let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), applicationName: "declared")
            defer { connection.close() }
            try connection.execute(
                script: """
                    CREATE SCHEMA pos;
                    CREATE TABLE pos."Orders" (order_id text, store_id int, points bigint NOT NULL DEFAULT 0, status text,
                        pickup text, till_note text DEFAULT 'mine', last_scan timestamptz, kg numeric(12,3) NOT NULL DEFAULT 0,
                        PRIMARY KEY (order_id, store_id));
                    """ + (try CaptureDDL.script(for: table)) + (try CaptureDDL.recordCountDispatcher(for: [table])),
                label: "install declared table")
        }
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testConcurrentInsertsOfOneKeyAreOneRowWhoseCountersAddUp() async throws {
        try await fixture.sql("web", "INSERT INTO pos.\"Orders\" (order_id, store_id, points) VALUES ('O-1', 7, 30)")
        try await fixture.sql("store-a", "INSERT INTO pos.\"Orders\" (order_id, store_id, points) VALUES ('O-1', 7, 12)")
        try await exchange()
        for site in ["web", "store-a"] {
            let points = try await fixture.value(site, "SELECT points FROM pos.\"Orders\" WHERE order_id = 'O-1'")
            XCTAssertEqual(points, "42", site)
        }
        try await fixture.sql("store-a", "UPDATE pos.\"Orders\" SET points = points - 40")
        try await fixture.sql("web", "SELECT omnisync.record_count('pos.\"Orders\"', ARRAY['O-1', '7'], 'points', 100)")
        try await exchange()
        let web = try await fixture.value("web", "SELECT points FROM pos.\"Orders\"")
        let store = try await fixture.value("store-a", "SELECT points FROM pos.\"Orders\"")
        XCTAssertEqual(web, store)
        XCTAssertEqual(web, "60", "the redemption the count had not seen still applies on top of it")
    }

    /// A `numeric(12,3)` counter counts thousandths exactly: weighed sales at two sites add up to
    /// the gram, and a count of a fractional quantity resets it with the sales it had not seen on top.
    func testANumericCounterAddsUpExactlyToItsScale() async throws {
        try await fixture.sql("web", "INSERT INTO pos.\"Orders\" (order_id, store_id, kg) VALUES ('W-1', 2, 1.250)")
        try await fixture.sql("store-a", "INSERT INTO pos.\"Orders\" (order_id, store_id, kg) VALUES ('W-1', 2, 0.755)")
        try await exchange()
        for site in ["web", "store-a"] {
            let kg = try await fixture.value(site, "SELECT kg::text FROM pos.\"Orders\" WHERE order_id = 'W-1'")
            XCTAssertEqual(kg, "2.005", site)
        }
        try await fixture.sql("store-a", "UPDATE pos.\"Orders\" SET kg = kg - 0.005")
        try await fixture.sql("web", "SELECT omnisync.record_count('pos.\"Orders\"', ARRAY['W-1', '2'], 'kg', 10.5)")
        try await exchange()
        for site in ["web", "store-a"] {
            let kg = try await fixture.value(site, "SELECT kg::text FROM pos.\"Orders\" WHERE order_id = 'W-1'")
            XCTAssertEqual(kg, "10.495", "\(site): the count, and the sale it had not seen on top")
        }
        // A count with more decimals than the column holds is refused, not rounded.
        do {
            try await fixture.sql("web", "SELECT omnisync.record_count('pos.\"Orders\"', ARRAY['W-1', '2'], 'kg', 1.0005)")
            XCTFail("a count finer than a gram was accepted")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "22023", "\(error)")
            XCTAssertTrue(error.message.contains("at most 3 decimals"), error.message)
        }
    }

    func testCancelledWhileCollectedIsCollectedEverywhereWithAConflict() async throws {
        try await fixture.sql("web", "INSERT INTO pos.\"Orders\" (order_id, store_id, status, pickup) VALUES ('O-2', 1, 'placed', 'store-a')")
        try await exchange()
        try await fixture.sql("store-a", "UPDATE pos.\"Orders\" SET status = 'ready'")
        try await exchange()
        try await fixture.sql("store-a", "UPDATE pos.\"Orders\" SET status = 'collected', till_note = 'handed over'")
        try await fixture.sql("web", "UPDATE pos.\"Orders\" SET status = 'cancelled'")
        let conflicts = try await exchange()
        XCTAssertEqual(conflicts, 2, "each site finds the conflict once")
        for site in ["web", "store-a"] {
            let status = try await fixture.value(site, "SELECT status FROM pos.\"Orders\"")
            XCTAssertEqual(status, "collected", site)
        }
        let webNote = try await fixture.value("web", "SELECT till_note FROM pos.\"Orders\"")
        XCTAssertEqual(webNote, "mine", "a local column is not replicated")
    }

    func testRandomWritesAtBothSitesConverge() async throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0xDEC_1A4E, defaultIterations: 2) {
            var rng = SeededGenerator(seed: seed)
            for _ in 0..<60 {
                let site = ["web", "store-a"].randomElement(using: &rng)!
                let order = "R-\(seed)-\(Int.random(in: 0..<4, using: &rng))"
                let exists = try await fixture.value(site, "SELECT count(*) FROM pos.\"Orders\" WHERE order_id = $1", [order]) == "1"
                do {
                    switch Int.random(in: 0..<100, using: &rng) {
                    case ..<15:
                        try await exchange()
                    case ..<25 where exists:
                        try await fixture.sql(site, "DELETE FROM pos.\"Orders\" WHERE order_id = $1", [order])
                    case ..<32 where exists:
                        try await fixture.sql(
                            site, "SELECT omnisync.record_count('pos.\"Orders\"', ARRAY[$1, '3'], 'points', $2)",
                            [order, String(Int.random(in: 0...50, using: &rng))])
                    default:
                        let status = statuses.randomElement(using: &rng)!
                        let pickup = ["store-a", "store-b", "web"].randomElement(using: &rng)!
                        let scan = "2026-12-0\(Int.random(in: 1...4, using: &rng)) 10:00:00+00"
                        if exists {
                            try await fixture.sql(
                                site,
                                "UPDATE pos.\"Orders\" SET points = points + $2, status = $3, pickup = $4, last_scan = $5, kg = kg + $6 "
                                    + "WHERE order_id = $1",
                                [order, String(Int.random(in: -5...9, using: &rng)), status, pickup, scan,
                                 CounterScale(decimals: 3).text(units: Int64.random(in: -2_000...9_000, using: &rng))])
                        } else {
                            try await fixture.sql(
                                site, "INSERT INTO pos.\"Orders\" (order_id, store_id, points, status, pickup, last_scan) VALUES ($1, 3, $2, $3, $4, $5)",
                                [order, String(Int.random(in: 0...9, using: &rng)), status, pickup, scan])
                        }
                    }
                } catch let error as PostgresError where ["23514", "23505"].contains(error.sqlState ?? "") {
                    // A status moved back is refused in the application's statement, as the contract says.
                }
            }
            try await exchange()
            try await exchange()
            let query = "SELECT order_id, store_id, points, status, pickup, last_scan, kg FROM pos.\"Orders\" ORDER BY 1, 2"
            let web = try await fixture.sql("web", query), store = try await fixture.sql("store-a", query)
            XCTAssertEqual(web, store, "seed=\(seed)")
            XCTAssertFalse(web.isEmpty)
            let webStates = try await states("web"), storeStates = try await states("store-a")
            XCTAssertEqual(webStates, storeStates, "seed=\(seed): the states differ")
        }
    }

    // MARK: - Moving states

    /// Ships every row's state from each site to the other; returns the conflicts found.
    @discardableResult
    private func exchange() async throws -> Int {
        let a = try await ship(from: "web", to: "store-a")
        let b = try await ship(from: "store-a", to: "web")
        return a + b
    }

    private func ship(from source: String, to target: String) async throws -> Int {
        let applier = try DeclaredApplier(table: table)
        let keys = try await fixture.sql(source, "SELECT order_id, store_id::text FROM omnisync.\"state:pos.Orders\"")
            .map { $0.map { $0 ?? "" } }
        let reader = try daemonSession(source), writer = try daemonSession(target)
        defer {
            reader.close()
            writer.close()
        }
        let read = try applier.readStates(reader, keys: keys)
        XCTAssertEqual(read.unreadable.count, 0, "\(read.unreadable)")
        let outcome = try applier.apply(writer, incoming: read.states)
        XCTAssertEqual(outcome.quarantined.count, 0, "\(outcome.quarantined)")
        return outcome.conflictCount
    }

    private func daemonSession(_ site: String) throws -> PostgresConnection {
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), applicationName: "declared")
        _ = try connection.query("SET omnisync.applying = 'on'", label: "applying")
        _ = try connection.query("SET TimeZone = 'UTC'", label: "utc")
        return connection
    }

    private func states(_ site: String) async throws -> [[String?]] {
        try await fixture.sql(
            site,
            "SELECT order_id, store_id, (SELECT array_agg(v ORDER BY s) FROM unnest(sites, versions) AS x(s, v))::text, "
                + "max_hlc, deleted_hlc, \"points$reset_hlc\", \"status$value\", \"pickup$value\", \"last_scan$value\" "
                + "FROM omnisync.\"state:pos.Orders\" ORDER BY 1, 2")
    }
}
