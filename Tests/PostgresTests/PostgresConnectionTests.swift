import Foundation
import Postgres
import TestSupport
import XCTest

final class PostgresConnectionTests: XCTestCase {
    private var clusters: TestClusters!
    private var connection: PostgresConnection!

    override func setUpWithError() throws {
        clusters = try TestClusters.fromEnvironment()
        connection = try PostgresConnection.connect(conninfo: clusters.adminConninfo(0), applicationName: "pg-tests")
    }

    override func tearDown() {
        connection?.close()
    }

    func testAwkwardTextRoundTripsExactly() throws {
        let values: [String?] = [
            "it's", #"back\slash \\ \' \""#, "\"double\"", "ünïcödé ✓ 🛒 日本語", "", "line\nbreak\ttab\r",
            "$1 and '; DROP TABLE x; --", String(repeating: "0123456789", count: 1024) + "é", nil,
        ]
        for value in values {
            let result = try connection.query(
                "SELECT $1::text AS v, $1::text IS NULL AS is_null, char_length($1::text) AS n", [value],
                label: "round trip")
            XCTAssertEqual(result.rows.count, 1)
            XCTAssertEqual(result.rows[0][0], value)
            XCTAssertEqual(result.rows[0][1], value == nil ? "t" : "f")
            XCTAssertEqual(result.rows[0][2], value.map { String($0.unicodeScalars.count) })
        }
        let many = (0..<100).map { String?("value \($0) ' \\") }
        let placeholders = (1...100).map { "$\($0)::text" }.joined(separator: ", ")
        let row = try connection.query("SELECT \(placeholders)", many, label: "many parameters").rows[0]
        XCTAssertEqual(row, many)
    }

    func testNULInParameterIsRefusedAndNamesIt() throws {
        XCTAssertThrowsError(try connection.query("SELECT $1::text, $2::text", ["fine", "bad\u{0}value"], label: "nul")) {
            let error = $0 as? PostgresError
            XCTAssertEqual(error?.category, .invalidInput)
            XCTAssertTrue(error?.message.contains("$2") == true, String(describing: error))
            XCTAssertTrue(error?.message.contains("NUL") == true, String(describing: error))
            XCTAssertFalse(error?.description.contains("bad") == true)
        }
        XCTAssertEqual(try connection.query("SELECT 1", label: "after").rows, [["1"]])
    }

    func testSyntaxErrorIsClassifiedWithoutBindValues() throws {
        XCTAssertThrowsError(try connection.query("SELEC $1::text", ["hunter2-secret"], label: "broken statement")) {
            guard let error = $0 as? PostgresError else { return XCTFail("not a PostgresError: \($0)") }
            XCTAssertEqual(error.sqlState, "42601")
            XCTAssertEqual(error.category, .query)
            XCTAssertEqual(error.statement, "broken statement")
            XCTAssertFalse(error.isTransient)
            XCTAssertTrue(error.description.hasPrefix("broken statement: syntax error"), error.description)
            XCTAssertTrue(error.description.contains("(sqlstate 42601)"), error.description)
            XCTAssertFalse(error.description.contains("hunter2"), error.description)
        }
        XCTAssertTrue(connection.isConnected)
        XCTAssertTrue(connection.isIdle)
    }

    func testServerErrorCarriesDetailAndHint() throws {
        try connection.query("CREATE TEMP TABLE t (id int PRIMARY KEY)", label: "create")
        try connection.query("INSERT INTO t VALUES (1)", label: "insert")
        XCTAssertThrowsError(try connection.query("INSERT INTO t VALUES ($1::int)", ["1"], label: "insert again")) {
            let error = $0 as? PostgresError
            XCTAssertEqual(error?.sqlState, "23505")
            XCTAssertEqual(error?.detail, "Key (id)=(1) already exists.")
        }
        XCTAssertThrowsError(try connection.query("SELECT * FROM no_such_table", label: "missing")) {
            let error = $0 as? PostgresError
            XCTAssertEqual(error?.sqlState, "42P01")
            XCTAssertEqual(error?.message, "relation \"no_such_table\" does not exist")
        }
    }

    func testResultShape() throws {
        try connection.query("CREATE TEMP TABLE stock (sku text, on_hand bigint)", label: "create")
        let insert = try connection.query(
            "INSERT INTO stock VALUES ($1, $2::bigint), ($3, NULL)", ["a", "5", "b"], label: "insert")
        XCTAssertEqual(insert.affectedRows, 2)
        XCTAssertEqual(insert.commandTag, "INSERT 0 2")
        let update = try connection.query("UPDATE stock SET on_hand = 7 WHERE sku = $1", ["zzz"], label: "update")
        XCTAssertEqual(update.affectedRows, 0)
        let select = try connection.query("SELECT sku, on_hand FROM stock ORDER BY sku", label: "select")
        XCTAssertEqual(select.columns, ["sku", "on_hand"])
        XCTAssertEqual(select.column("on_hand"), 1)
        XCTAssertNil(select.column("nope"))
        XCTAssertEqual(select.rows, [["a", "5"], ["b", nil]])
        XCTAssertEqual(select.affectedRows, 2)
        XCTAssertEqual(try connection.query("", label: "empty").rows.count, 0)
    }

    func testExecuteRunsAScriptAsOneTransaction() throws {
        try connection.execute(
            script: "CREATE TEMP TABLE a (x int); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);", label: "script")
        XCTAssertEqual(try connection.query("SELECT count(*) FROM a", label: "count").rows, [["2"]])
        XCTAssertThrowsError(
            try connection.execute(script: "INSERT INTO a VALUES (3); INSERT INTO a VALUES ('x');", label: "bad script")
        ) {
            XCTAssertEqual(($0 as? PostgresError)?.sqlState, "22P02")
        }
        XCTAssertEqual(try connection.query("SELECT count(*) FROM a", label: "count").rows, [["2"]])
    }

    func testTransactionCommitsOrRollsBack() throws {
        let abort = PostgresError(category: .invalidInput, sqlState: nil, message: "abort", statement: "body")
        try connection.query("CREATE TEMP TABLE t (x int)", label: "create")
        let value = try connection.transaction(label: "commit") { transaction throws(PostgresError) in
            try transaction.query("INSERT INTO t VALUES (1)", label: "insert")
            return 42
        }
        XCTAssertEqual(value, 42)
        XCTAssertThrowsError(
            try connection.transaction(label: "abort") { transaction throws(PostgresError) in
                try transaction.query("INSERT INTO t VALUES (2)", label: "insert")
                throw abort
            }
        ) { XCTAssertEqual($0 as? PostgresError, abort, "the body's own error, unchanged") }
        // A failed statement whose error is swallowed must not let COMMIT pass for success.
        XCTAssertThrowsError(
            try connection.transaction(label: "swallowed") { transaction throws(PostgresError) in
                try transaction.query("INSERT INTO t VALUES (3)", label: "insert")
                _ = try? transaction.query("SELECT 1/0", label: "fails")
            }
        ) { XCTAssertEqual(($0 as? PostgresError)?.statement, "swallowed") }
        XCTAssertEqual(try connection.query("SELECT x FROM t", label: "rows").rows, [["1"]])
        XCTAssertTrue(connection.isIdle)
    }

    func testABodyCanRollBackOnPurposeAndTheTransactionThenRefusesStatements() throws {
        try connection.query("CREATE TEMP TABLE u (x int)", label: "create")
        let decided = try connection.transaction(label: "decides") { transaction throws(PostgresError) in
            try transaction.query("INSERT INTO u VALUES (1)", label: "insert")
            XCTAssertTrue(transaction.hasBegun)
            try transaction.rollback()
            XCTAssertThrowsError(try transaction.query("INSERT INTO u VALUES (2)", label: "after the end")) {
                XCTAssertEqual(($0 as? PostgresError)?.category, .invalidInput)
            }
            return "rolled back"
        }
        XCTAssertEqual(decided, "rolled back", "the body's value is returned")
        XCTAssertEqual(try connection.query("SELECT count(*) FROM u", label: "count").rows, [["0"]])
        XCTAssertTrue(connection.isIdle)
        // A rollback before any statement sends nothing.
        try connection.transaction(label: "nothing") { transaction throws(PostgresError) in try transaction.rollback() }
        XCTAssertTrue(connection.isIdle)
    }

    func testStatementsOnTheConnectionDoNotCarryATransactionsBegin() throws {
        try connection.query("CREATE TEMP TABLE v (x int)", label: "create")
        try connection.transaction(label: "beside") { transaction throws(PostgresError) in
            // Before the transaction's first statement, the connection's own runs in autocommit.
            try connection.query("INSERT INTO v VALUES (1)", label: "on the connection")
            XCTAssertTrue(connection.isIdle, "the connection's statement did not open the transaction")
            XCTAssertFalse(transaction.hasBegun)
            try transaction.query("INSERT INTO v VALUES (2)", label: "in the transaction")
            XCTAssertFalse(connection.isIdle)
            try transaction.rollback()
        }
        XCTAssertEqual(try connection.query("SELECT x FROM v", label: "rows").rows, [["1"]], "only the transaction's row went")
        XCTAssertThrowsError(
            try connection.transaction(label: "outer") { _ throws(PostgresError) in
                try connection.transaction(label: "inner") { _ throws(PostgresError) in }
            }
        ) { XCTAssertEqual(($0 as? PostgresError)?.statement, "inner", "transactions do not nest") }
        XCTAssertTrue(connection.isIdle)
    }

    func testStatementsWithParametersArePreparedOnceAndSurviveDiscardAll() throws {
        let sql = "SELECT $1::int + 1"
        XCTAssertEqual(try connection.query(sql, ["1"], label: "first").rows, [["2"]])
        XCTAssertEqual(try connection.query(sql, ["2"], label: "second").rows, [["3"]])
        let prepared = try connection.query(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", [sql], label: "prepared")
        XCTAssertEqual(prepared.rows, [["1"]], "one prepared statement for the text, reused")
        try connection.query("DISCARD ALL", label: "discard")
        XCTAssertEqual(try connection.query(sql, ["3"], label: "after discard").rows, [["4"]])
        // Inside a transaction the forgotten statement fails it; the next transaction works.
        try connection.query("DEALLOCATE ALL", label: "deallocate")
        XCTAssertThrowsError(
            try connection.transaction(label: "forgotten") { transaction throws(PostgresError) in
                try transaction.query(sql, ["4"], label: "in tx")
            }
        ) {
            XCTAssertEqual(($0 as? PostgresError)?.sqlState, "26000")
        }
        XCTAssertEqual(
            try connection.transaction(label: "again") { transaction throws(PostgresError) in
                try transaction.query(sql, ["5"], label: "in tx").rows
            }, [["6"]])
    }

    func testPipelineReturnsResultsInOrderAndStopsAtTheFirstFailure() throws {
        try connection.query("CREATE TEMP TABLE p (x int PRIMARY KEY)", label: "create")
        let results = try connection.pipeline([
            .init("INSERT INTO p VALUES ($1::int)", ["1"], label: "one"),
            .init("INSERT INTO p VALUES ($1::int), ($2::int)", ["2", "3"], label: "two"),
            .init("SELECT x FROM p ORDER BY x", label: "read"),
        ])
        XCTAssertEqual(results.map(\.affectedRows), [1, 2, 3])
        XCTAssertEqual(results[2].rows, [["1"], ["2"], ["3"]])
        XCTAssertThrowsError(
            try connection.pipeline([
                .init("INSERT INTO p VALUES ($1::int)", ["4"], label: "fine"),
                .init("INSERT INTO p VALUES ($1::int)", ["1"], label: "duplicate"),
                .init("INSERT INTO p VALUES ($1::int)", ["5"], label: "never run"),
            ])
        ) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "23505")
            XCTAssertEqual((error as? PostgresError)?.statement, "duplicate")
        }
        // Outside a transaction one pipeline is one implicit transaction: 4 is rolled back, 5 never ran.
        XCTAssertEqual(try connection.query("SELECT x FROM p ORDER BY x", label: "after").rows, [["1"], ["2"], ["3"]])
        XCTAssertTrue(connection.isIdle)
    }

    func testTransactionSendsBeginWithItsFirstStatementAndRollsBackAFailedPipeline() throws {
        try connection.query("CREATE TEMP TABLE q (x int PRIMARY KEY)", label: "create")
        XCTAssertEqual(try connection.transaction(label: "empty") { _ throws(PostgresError) in 7 }, 7)
        XCTAssertThrowsError(
            try connection.transaction(label: "fails") { transaction throws(PostgresError) in
                _ = try transaction.pipeline([
                    .init("INSERT INTO q VALUES ($1::int)", ["1"], label: "fine"),
                    .init("INSERT INTO q VALUES ($1::int)", ["1"], label: "duplicate"),
                ])
            })
        XCTAssertEqual(try connection.query("SELECT count(*) FROM q", label: "count").rows, [["0"]], "rolled back")
        let inside = try connection.transaction(label: "status") { transaction throws(PostgresError) in
            try transaction.query("SELECT $1::int", ["1"], label: "first")
            return try transaction.query("SELECT transaction_timestamp() = statement_timestamp()", label: "in transaction").rows
        }
        XCTAssertEqual(inside, [["f"]], "the second statement ran inside the transaction BEGIN opened")
        XCTAssertTrue(connection.isIdle)
    }

    func testNoticesAreCollectedNotPrinted() throws {
        let captured = try capturingStandardError {
            try connection.query(
                "DO $$ BEGIN RAISE NOTICE 'stock % low', 7; RAISE WARNING 'careful'; END $$", label: "notice")
        }
        XCTAssertEqual(connection.takeNotices(), ["NOTICE: stock 7 low", "WARNING: careful"])
        XCTAssertEqual(connection.takeNotices(), [])
        XCTAssertFalse(captured.contains("stock 7 low"), captured)
        XCTAssertFalse(captured.contains("careful"), captured)
    }

    func testConnectionFacts() throws {
        XCTAssertTrue(connection.isConnected)
        let row = try connection.query(
            "SELECT pg_backend_pid(), current_setting('application_name'), current_setting('client_encoding'),"
                + " current_setting('server_version_num')", label: "facts"
        ).rows[0]
        XCTAssertEqual(row[0], String(connection.backendPID))
        XCTAssertEqual(row[1], "pg-tests")
        XCTAssertEqual(row[2], "UTF8")
        XCTAssertEqual(row[3], String(connection.serverVersion))
        XCTAssertGreaterThanOrEqual(connection.serverVersion, 130000)
        XCTAssertEqual(try connection.escapeIdentifier("Mixed \"case\""), #""Mixed ""case""""#)
    }

    func testConninfoOverridesDefaults() throws {
        let custom = try PostgresConnection.connect(
            conninfo: clusters.adminConninfo(0) + " application_name=mine connect_timeout=3")
        defer { custom.close() }
        XCTAssertEqual(
            try custom.query("SELECT current_setting('application_name')", label: "app").rows, [["mine"]])
    }

    func testConnectFailureIsAConnectionError() throws {
        let conninfo = "host=/nonexistent/omnisync port=1 user=postgres password=hunter2 connect_timeout=2"
        XCTAssertThrowsError(try PostgresConnection.connect(conninfo: conninfo, label: "site x connect")) {
            guard let error = $0 as? PostgresError else { return XCTFail("\($0)") }
            XCTAssertEqual(error.category, .connection)
            XCTAssertTrue(error.isTransient)
            XCTAssertEqual(error.statement, "site x connect")
            XCTAssertTrue(error.message.contains("/nonexistent/omnisync"), error.message)
            XCTAssertFalse(error.description.contains("hunter2"))
            XCTAssertFalse(error.description.contains("\n"))
        }
    }

    func testConnectTimeoutAppliesToASilentServer() throws {
        let server = try BlackholeServer(.listening)
        let started = ContinuousClock.now
        XCTAssertThrowsError(try PostgresConnection.connect(conninfo: server.superuserConninfo + " connect_timeout=2")) {
            let error = $0 as? PostgresError
            XCTAssertEqual(error?.category, .connection)
            XCTAssertEqual(error?.message, "timeout expired while connecting")
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(1900))
        XCTAssertLessThan(elapsed, .seconds(5))
    }

    func testMalformedConninfoIsInvalidInputNotTransient() {
        XCTAssertThrowsError(try PostgresConnection.connect(conninfo: "host=/tmp pasword=hunter2")) {
            let error = $0 as? PostgresError
            XCTAssertEqual(error?.category, .invalidInput)
            XCTAssertEqual(error?.isTransient, false)
        }
    }

    func testCopyIsRefusedAndTheConnectionStaysUsable() throws {
        XCTAssertThrowsError(try connection.query("COPY (SELECT 1) TO STDOUT", label: "copy out")) {
            XCTAssertEqual(($0 as? PostgresError)?.category, .invalidInput)
        }
        try connection.query("CREATE TEMP TABLE c (x int)", label: "create")
        XCTAssertThrowsError(try connection.query("COPY c FROM STDIN", label: "copy in")) {
            XCTAssertEqual(($0 as? PostgresError)?.category, .invalidInput)
        }
        XCTAssertEqual(try connection.query("SELECT 2", label: "after").rows, [["2"]])
        XCTAssertTrue(connection.isIdle)
    }

    func testClosedConnectionRefusesWork() throws {
        connection.close()
        connection.close()
        XCTAssertFalse(connection.isConnected)
        XCTAssertEqual(connection.backendPID, 0)
        XCTAssertThrowsError(try connection.query("SELECT 1", label: "closed")) {
            XCTAssertEqual(($0 as? PostgresError)?.category, .connection)
        }
    }

    func testTerminatedBackendIsAConnectionError() throws {
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(0))
        defer { admin.close() }
        try admin.query("SELECT pg_terminate_backend($1::int, 5000)", [String(connection.backendPID)], label: "kill")
        XCTAssertThrowsError(try connection.query("SELECT 1", label: "after kill")) {
            let error = $0 as? PostgresError
            XCTAssertEqual(error?.category, .connection)
            XCTAssertEqual(error?.isTransient, true)
        }
        XCTAssertFalse(connection.isConnected)
    }

    func testCreatesAndDropsTestDatabases() throws {
        let conninfo = try clusters.createDatabase(cluster: clusters.count - 1, prefix: "Pg Tests")
        let database = try PostgresConnection.connect(conninfo: conninfo)
        let name = try XCTUnwrap(database.query("SELECT current_database()", label: "name").rows.first?.first ?? nil)
        XCTAssertTrue(name.hasPrefix("pgtests_"), name)
        clusters.dropDatabase(conninfo)  // forces the open connection out
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(clusters.count - 1))
        XCTAssertEqual(
            try admin.query("SELECT count(*) FROM pg_database WHERE datname = $1", [name], label: "exists").rows, [["0"]])
    }

    /// Runs `body` with file descriptor 2 redirected to a file and returns what was written there.
    private func capturingStandardError(_ body: () throws -> Void) throws -> String {
        let path = NSTemporaryDirectory() + "/omnisync-stderr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(file, 0)
        let saved = dup(2)
        dup2(file, 2)
        defer {
            dup2(saved, 2)
            close(saved)
            close(file)
            unlink(path)
        }
        try body()
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
