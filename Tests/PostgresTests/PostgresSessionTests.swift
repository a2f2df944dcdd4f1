import Foundation
import Postgres
import TestSupport
import XCTest

final class PostgresSessionTests: XCTestCase {
    private var clusters: TestClusters!

    override func setUpWithError() throws {
        clusters = try TestClusters.fromEnvironment()
    }

    func testBlockingWorkRunsOnDedicatedThreadsConcurrently() async throws {
        let conninfo = clusters.adminConninfo(0)
        let sessions = (0..<4).map { PostgresSession(conninfo: conninfo, label: "sleep\($0)") }
        for session in sessions {
            _ = try await session.withConnection { try $0.query("SELECT 1", label: "warm up") }
        }
        let started = ContinuousClock.now
        let spans = try await withThrowingTaskGroup(of: (thread: String, start: Double, end: Double).self) { group in
            for session in sessions {
                group.addTask {
                    try await session.withConnection { connection in
                        let thread = ThreadNames.current()
                        let row = try connection.query(
                            "SELECT extract(epoch FROM clock_timestamp())::float8, pg_sleep(0.3),"
                                + " extract(epoch FROM clock_timestamp())::float8", label: "sleep"
                        ).rows[0]
                        return (thread, Double(row[0] ?? "") ?? 0, Double(row[2] ?? "") ?? 0)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(Set(spans.map(\.thread)), ["pg sleep0", "pg sleep1", "pg sleep2", "pg sleep3"])
        // All four sleeps overlapped: the pool is only as wide as the CPU count.
        let latestStart = try XCTUnwrap(spans.map(\.start).max())
        let earliestEnd = try XCTUnwrap(spans.map(\.end).min())
        XCTAssertLessThan(latestStart, earliestEnd, "\(spans)")
        XCTAssertLessThan(elapsed, .milliseconds(1100))
    }

    func testReconnectsAfterTheBackendIsTerminated() async throws {
        let session = PostgresSession(conninfo: clusters.adminConninfo(0), label: "reconnect")
        let firstPID = try await session.withConnection { $0.backendPID }
        let connects = await session.connects
        XCTAssertEqual(connects, 1)
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(0))
        defer { admin.close() }
        try admin.query("SELECT pg_terminate_backend($1::int, 5000)", [String(firstPID)], label: "kill")

        do {
            _ = try await session.withConnection { try $0.query("SELECT 1", label: "after kill") }
            XCTFail("a query on a terminated backend succeeded")
        } catch let error as PostgresError {
            XCTAssertEqual(error.category, .connection)
            XCTAssertEqual(error.statement, "after kill")
        }
        let dropped = await session.isConnected
        XCTAssertFalse(dropped)

        let secondPID = try await session.withConnection { connection in
            XCTAssertEqual(try connection.query("SELECT 1", label: "again").rows, [["1"]])
            return connection.backendPID
        }
        XCTAssertNotEqual(secondPID, firstPID)
        let reconnects = await session.connects
        XCTAssertEqual(reconnects, 2)
    }

    func testSetupRunsOnEveryConnect() async throws {
        let session = PostgresSession(
            conninfo: clusters.adminConninfo(0), label: "setup", applicationName: "setup-test",
            setup: ["SET omnisync.applying = 'on'"])
        let read: @Sendable (PostgresConnection) throws -> [[String?]] = {
            try $0.query("SELECT current_setting('omnisync.applying'), current_setting('application_name')", label: "read").rows
        }
        let first = try await session.withConnection(read)
        XCTAssertEqual(first, [["on", "setup-test"]])
        await session.disconnect()
        let second = try await session.withConnection(read)
        XCTAssertEqual(second, [["on", "setup-test"]])
        let connects = await session.connects
        XCTAssertEqual(connects, 2)
    }

    func testOtherErrorsKeepTheConnectionAndOpenTransactionsAreRolledBack() async throws {
        let session = PostgresSession(conninfo: clusters.adminConninfo(0), label: "errors")
        try await session.withConnection { connection in
            try connection.query("CREATE TEMP TABLE t (x int)", label: "create")
        }
        do {
            try await session.withConnection { connection in
                try connection.query("BEGIN", label: "begin")
                try connection.query("INSERT INTO t VALUES (1)", label: "insert")
                try connection.query("SELECT 1/0", label: "divide")
            }
            XCTFail("division by zero succeeded")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "22012")
            XCTAssertEqual(error.category, .query)
        }
        // Left open without an error, too.
        try await session.withConnection { connection in
            try connection.query("BEGIN", label: "begin")
            try connection.query("INSERT INTO t VALUES (2)", label: "insert")
        }
        let rows = try await session.withConnection { connection in
            (connection.isIdle, try connection.query("SELECT count(*) FROM t", label: "count").rows)
        }
        XCTAssertTrue(rows.0)
        XCTAssertEqual(rows.1, [["0"]])  // same connection: the temp table survived
        let connects = await session.connects
        XCTAssertEqual(connects, 1)
    }

    func testConnectFailureIsThrownAndRetriedOnTheNextCall() async throws {
        let session = PostgresSession(conninfo: "host=/nonexistent/omnisync port=1 user=postgres", label: "site z")
        do {
            _ = try await session.withConnection { $0.backendPID }
            XCTFail("connected to a socket that does not exist")
        } catch let error as PostgresError {
            XCTAssertEqual(error.category, .connection)
            XCTAssertEqual(error.statement, "site z connect")
        }
        let connects = await session.connects
        XCTAssertEqual(connects, 0)
        let connected = await session.isConnected
        XCTAssertFalse(connected)
    }

    func testThreadAndConnectionEndWhenTheSessionIsReleased() async throws {
        let applicationName = "release-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var session: PostgresSession? = PostgresSession(
            conninfo: clusters.adminConninfo(0), label: "release", applicationName: applicationName)
        let pid = try await session?.withConnection { $0.backendPID }
        XCTAssertNotNil(pid)
        XCTAssertEqual(ThreadNames.count("pg release"), 1)
        session = nil
        let remaining = await ThreadNames.wait(for: "pg release", count: 0)
        XCTAssertEqual(remaining, 0)
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(0))
        defer { admin.close() }
        XCTAssertEqual(
            try admin.query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [applicationName], label: "count"
            ).rows, [["0"]])
    }

    func testWithDatabasesMakesFreshDatabasesAndDropsThem() async throws {
        let clusters = try XCTUnwrap(clusters)
        let names = try await clusters.withDatabases(count: 2, prefix: "pair") { conninfos in
            XCTAssertEqual(conninfos.count, 2)
            var names: [String] = []
            for (i, conninfo) in conninfos.enumerated() {
                XCTAssertTrue(conninfo.hasPrefix(clusters.adminConninfo(i % clusters.count)), conninfo)
                let session = PostgresSession(conninfo: conninfo, label: "db\(i)")
                let row = try await session.withConnection { connection in
                    try connection.query(
                        "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')",
                        label: "inspect"
                    ).rows[0]
                }
                XCTAssertEqual(row[1], "0")
                names.append(row[0] ?? "")
            }
            return names
        }
        XCTAssertEqual(Set(names).count, 2)
        for (i, name) in names.enumerated() {
            XCTAssertTrue(name.hasPrefix("pair_"), name)
            let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(i % clusters.count))
            XCTAssertEqual(
                try admin.query("SELECT count(*) FROM pg_database WHERE datname = $1", [name], label: "gone").rows,
                [["0"]])
        }
    }
}
