import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// Wrong and hostile input, each with its exact outcome: keys that break naive quoting, keys at
/// PostgreSQL's size limits, quantities at the edge of `bigint`, NULLs, change records no trigger
/// writes, and sites whose schema or identity is not what the configuration says. Either the input
/// replicates byte for byte, or it is refused with a clear error — in the application's own
/// statement, with nothing half-written — or it is quarantined while everything else flows.
final class HostileInputTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 300)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    /// Keys that break string splicing, array literals, JSON, logfmt or line-based output.
    static let hostileKeys = [
        "quote'single", "quote\"double", "back\\slash", "ends with backslash\\", "new\nline", "carriage\r\nreturn",
        "tab\tkey", "emoji 🛒👩‍👩‍👧", "e\u{301} combining", "", " ", "NULL", "null", "{a,b}", "{\"x\"}", "(1,2)", "a,b",
        "$1", "'; DROP TABLE retail.stock; --", "%_wild", "\u{7F}\u{1}control", "key=value level=error",
        // 10,008 characters that compress well: under the index limit after compression.
        String(repeating: "long-key-", count: 1112),
    ]

    // MARK: - Helpers

    /// Runs `query` at `site` as an application and asserts that it fails with `sqlState`.
    private func assertFails(
        _ site: String, _ query: String, _ params: [String?] = [], sqlState: String, mentioning text: String,
        file: StaticString = #filePath, line: UInt = #line
    ) async {
        do {
            try await fixture.sql(site, query, params)
            XCTFail("succeeded: \(query)", file: file, line: line)
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, sqlState, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(text), "\(error)", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    /// Row counts of every retail table, state table and the outbox: equal before and after a
    /// failed statement means nothing was half-written.
    private func footprint(_ site: String) async throws -> [String?] {
        try await fixture.sql(
            site,
            """
            SELECT (SELECT count(*) FROM retail.stock), (SELECT count(*) FROM retail.cart_items),
                   (SELECT count(*) FROM retail.orders), (SELECT count(*) FROM retail.order_lines),
                   (SELECT count(*) FROM retail.returns), (SELECT count(*) FROM omnisync.stock_state),
                   (SELECT count(*) FROM omnisync.cart_state), (SELECT count(*) FROM omnisync.order_state),
                   (SELECT count(*) FROM omnisync.order_line_state), (SELECT count(*) FROM omnisync.return_state),
                   (SELECT count(*) FROM omnisync.outbox),
                   (SELECT coalesce(sum(hashtext(s::text)), 0) FROM omnisync.stock_state AS s)
            """
        ).first ?? []
    }

    /// Every row of every retail table at `site`, as text (timestamps as epoch seconds).
    private func contents(_ site: String) async throws -> [String: [[String?]]] {
        var tables: [String: [[String?]]] = [:]
        let queries = [
            "stock": "SELECT sku, location, on_hand::text, reserved::text FROM retail.stock ORDER BY sku COLLATE \"C\", location COLLATE \"C\"",
            "cart_items": "SELECT cart_id, sku, quantity::text FROM retail.cart_items ORDER BY cart_id COLLATE \"C\", sku COLLATE \"C\"",
            "orders":
                "SELECT order_id, customer_id, channel, extract(epoch FROM placed_at)::bigint::text FROM retail.orders ORDER BY order_id COLLATE \"C\"",
            "order_lines": "SELECT order_id, line_no::text, sku, quantity::text FROM retail.order_lines ORDER BY order_id COLLATE \"C\", line_no",
            "returns":
                "SELECT return_id, order_id, line_no::text, quantity::text, location, extract(epoch FROM returned_at)::bigint::text FROM retail.returns ORDER BY return_id COLLATE \"C\"",
        ]
        for (table, query) in queries {
            tables[table] = try await fixture.sql(site, query)
        }
        return tables
    }

    private func assertEverySiteHolds(_ expected: [String: [[String?]]], file: StaticString = #filePath, line: UInt = #line) async throws {
        for site in fixture.siteNames {
            let actual = try await contents(site)
            for table in expected.keys.sorted() {
                XCTAssertEqual(actual[table] ?? [], expected[table] ?? [], "\(table) at \(site)", file: file, line: line)
            }
        }
    }

    private func runCLI(_ arguments: [String]) throws -> (termination: Subprocess.Termination, stdout: String, stderr: String) {
        let binary = try XCTUnwrap(TestClusters.binaryPath, "OMNISYNC_BIN is not set; run scripts/test.sh")
        return try Subprocess.run(binary, arguments: arguments, timeout: 60)
    }


    // MARK: - Keys

    func testHostileKeysReplicateByteForByte() async throws {
        let keys = Self.hostileKeys
        var expected: [String: [[String?]]] = [:]
        for (index, key) in keys.enumerated() {
            let n = String(index + 1)
            try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ($1, $1, $2::bigint, 0)", [key, n])
            try await fixture.sql("store-a", "INSERT INTO retail.cart_items VALUES ($1, $1, $2::bigint)", [key, n])
            try await fixture.sql("store-a", "INSERT INTO retail.orders VALUES ($1, $1, $1, to_timestamp($2::bigint))", [key, n])
            try await fixture.sql("store-a", "INSERT INTO retail.order_lines VALUES ($1, 1, $1, 2)", [key])
            try await fixture.sql("store-a", "INSERT INTO retail.returns VALUES ($1, $1, 1, 1, $1, to_timestamp($2::bigint))", [key, n])
            expected["stock", default: []].append([key, key, n, "0"])
            expected["cart_items", default: []].append([key, key, n])
            expected["orders", default: []].append([key, key, key, n])
            expected["order_lines", default: []].append([key, "1", key, "2"])
            expected["returns", default: []].append([key, key, "1", "1", key, n])
        }
        for table in expected.keys {
            expected[table]?.sort { ($0[0] ?? "").utf8.lexicographicallyPrecedes(($1[0] ?? "").utf8) }
        }
        await fixture.syncOnce()
        try await assertEverySiteHolds(expected)

        // Changes to those rows at other sites: sales at the web, deletes of every other cart item
        // at store-b, and a second return at store-b that makes each line over-returned.
        for (index, key) in keys.enumerated() {
            try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = $1 AND location = $1", [key])
            if let row = expected["stock"]?.firstIndex(where: { $0[0] == key }) {
                expected["stock"]?[row][2] = String(index)
            }
            if index % 2 == 0 {
                try await fixture.sql("store-b", "DELETE FROM retail.cart_items WHERE cart_id = $1 AND sku = $1", [key])
                expected["cart_items"]?.removeAll { $0[0] == key }
            }
            try await fixture.sql("store-b", "INSERT INTO retail.returns VALUES ($1 || '#2', $1, 1, 2, $1, to_timestamp(0))", [key])
            expected["returns", default: []].append([key + "#2", key, "1", "2", key, "0"])
        }
        expected["returns"]?.sort { ($0[0] ?? "").utf8.lexicographicallyPrecedes(($1[0] ?? "").utf8) }
        await fixture.syncOnce()
        try await assertEverySiteHolds(expected)
        await fixture.waitForConvergence(timeout: 10)

        // The command line shows those keys intact: one over-return per key, as one JSON object per line.
        let config = fixture.configPath
        let listed = try runCLI(["conflicts", "--json", "-c", config])
        XCTAssertEqual(listed.termination, .exited(0), listed.stderr)
        var orderIDs: [String] = []
        for line in listed.stdout.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(object?["kind"] as? String, "over_return", String(line))
            if let key = object?["key"] as? [String: Any], let orderID = key["order_id"] as? String {
                orderIDs.append(orderID)
            }
        }
        XCTAssertEqual(orderIDs.sorted(), keys.sorted())
        let verified = try runCLI(["verify", "-c", config])
        XCTAssertEqual(verified.termination, .exited(0), verified.stdout + verified.stderr)
    }

    /// Near PostgreSQL's index limit: a 2,600-byte key that does not compress still fits and
    /// replicates; 10 kB that do not compress are refused by the source's own primary key, in the
    /// application's statement, and nothing is half-written.
    func testKeysAtTheIndexSizeLimit() async throws {
        var rng = SeededGenerator(seed: 0x10_4B)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        func incompressible(_ count: Int) -> String { String((0..<count).map { _ in alphabet.randomElement(using: &rng)! }) }

        let fits = incompressible(2600)
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ($1, 'store-a', 7, 0)", [fits])
        try await fixture.sql("store-a", "INSERT INTO retail.cart_items VALUES ($1, 'sku', 1)", [fits])
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: fits, location: "store-a")
            XCTAssertEqual(onHand, 7, "at \(site)")
        }

        let tooBig = incompressible(10_000)
        let before = try await footprint("store-a")
        await assertFails(
            "store-a", "INSERT INTO retail.stock VALUES ($1, 'store-a', 1, 0)", [tooBig], sqlState: "54000", mentioning: "index row")
        await assertFails(
            "store-a", "INSERT INTO retail.cart_items VALUES ('cart', $1, 1)", [tooBig], sqlState: "54000", mentioning: "index row")
        await assertFails(
            "store-a", "SELECT retail.record_count($1, 'store-a', 5)", [tooBig], sqlState: "54000", mentioning: "index row")
        // An order is one transaction: its line with a too-long id fails, and the order goes too.
        let session = fixture.newSession("store-a")
        do {
            try await session.withConnection { connection in
                try connection.transaction(label: "order with a too-long line id") { transaction throws(PostgresError) in
                    try transaction.query("INSERT INTO retail.orders VALUES ('ok-order', 'c', 'store-a', now())", label: "order")
                    try transaction.query("INSERT INTO retail.order_lines VALUES ($1, 1, 'sku', 1)", [tooBig], label: "line")
                }
            }
            XCTFail("the order with a 10 kB line id committed")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "54000", "\(error)")
        }
        await session.disconnect()
        let after = try await footprint("store-a")
        XCTAssertEqual(after, before, "nothing half-written")
        await fixture.syncOnce()
        await fixture.waitForConvergence(timeout: 10)
    }

    /// Text cannot hold a NUL byte: PostgreSQL refuses it in a literal, the client library before sending.
    func testNulBytesAreRefusedBeforeAnythingIsWritten() async throws {
        let before = try await footprint("web")
        await assertFails(
            "web", "INSERT INTO retail.stock VALUES (E'nul\\000byte', 'web', 1, 0)", sqlState: "22021",
            mentioning: "invalid byte sequence")
        do {
            try await fixture.sql("web", "INSERT INTO retail.stock VALUES ($1, 'web', 1, 0)", ["nul\u{0}byte"])
            XCTFail("a NUL byte was sent")
        } catch let error as PostgresError {
            XCTAssertEqual(error.category, .invalidInput)
        }
        let after = try await footprint("web")
        XCTAssertEqual(after, before)
    }

    // MARK: - Quantities

    func testNegativeQuantitiesReplicateAsWrittenAndNegativeStockIsAnOversell() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('minus', 'store-a', -5, -2)")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('fine', 'store-a', 3, 0)")
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart', 'minus', -2)")
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('neg-order', 'c', 'web', to_timestamp(0))")
        try await fixture.sql("web", "INSERT INTO retail.order_lines VALUES ('neg-order', 1, 'minus', -1)")
        try await fixture.sql("store-b", "INSERT INTO retail.returns VALUES ('neg-return', 'neg-order', 1, -3, 'store-b', to_timestamp(0))")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let rows = try await fixture.sql(
                site,
                """
                SELECT (SELECT on_hand || '/' || reserved FROM retail.stock WHERE sku = 'minus'),
                       (SELECT quantity::text FROM retail.cart_items WHERE sku = 'minus'),
                       (SELECT quantity || '/' || returned FROM retail.order_line_returns WHERE order_id = 'neg-order')
                """)
            XCTAssertEqual(rows.first, ["-5/-2", "-2", "-1/-3"], "at \(site)")
        }
        // on_hand - reserved = -3 < 0: an oversell, recorded once; 'fine' is not one.
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        XCTAssertEqual(listing.entries.map(\.kind), ["oversell"])
        XCTAssertEqual(listing.entries.first?.key, #"{"sku": "minus", "location": "store-a"}"#)
        await fixture.waitForConvergence(timeout: 10)
    }

    /// An application statement whose result does not fit `bigint` fails at once, whether the
    /// overflow is in its own arithmetic or in the capture trigger's delta; the row, its state
    /// and the outbox stay as they were.
    func testOverflowInTheApplicationsStatementFailsAndChangesNothing() async throws {
        let max = String(Int64.max)
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('max', 'store-a', $1::bigint, 0)", [max])
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('wide', 'store-a', -9223372036854775000, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('contrib', 'store-a', 9223372036854775000, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.cart_items VALUES ('cart', 'max', $1::bigint)", [max])
        await fixture.syncOnce()
        // The web sells 1,000 of 'contrib': store-a sees 9223372036854774000, its own contribution is unchanged.
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 1000 WHERE sku = 'contrib'")
        await fixture.syncOnce()
        do {
            let value = try await fixture.onHand("store-a", sku: "contrib", location: "store-a")
            XCTAssertEqual(value, 9_223_372_036_854_774_000)
        }

        let before = try await footprint("store-a")
        // The statement's own arithmetic.
        await assertFails(
            "store-a", "UPDATE retail.stock SET on_hand = on_hand + 1 WHERE sku = 'max'", sqlState: "22003",
            mentioning: "bigint out of range")
        // A legal new value whose delta (new - old) does not fit.
        await assertFails(
            "store-a", "UPDATE retail.stock SET on_hand = 9223372036854775000 WHERE sku = 'wide'", sqlState: "22003",
            mentioning: "bigint out of range")
        // A legal new value (…774900) whose addition to this site's contribution (…775000) does not fit.
        await assertFails(
            "store-a", "UPDATE retail.stock SET on_hand = on_hand + 900 WHERE sku = 'contrib'", sqlState: "22003",
            mentioning: "bigint out of range")
        await assertFails(
            "store-a", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart'", sqlState: "22003",
            mentioning: "bigint out of range")
        let after = try await footprint("store-a")
        XCTAssertEqual(after, before, "nothing written")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            do {
                let value = try await fixture.onHand(site, sku: "max", location: "store-a")
                XCTAssertEqual(value, Int64.max, "at \(site)")
            }
            do {
                let value = try await fixture.onHand(site, sku: "wide", location: "store-a")
                XCTAssertEqual(value, -9_223_372_036_854_775_000, "at \(site)")
            }
            do {
                let value = try await fixture.onHand(site, sku: "contrib", location: "store-a")
                XCTAssertEqual(value, 9_223_372_036_854_774_000, "at \(site)")
            }
        }
        await fixture.waitForConvergence(timeout: 10)
    }

    /// Two sites each contribute nearly 2^63 to the same new row before either sees the other:
    /// the merge saturates at the limit at every site instead of wrapping.
    func testContributionsNearTheLimitFromTwoSitesSaturate() async throws {
        for site in ["store-a", "store-b"] {
            try await fixture.sql(site, "INSERT INTO retail.stock VALUES ('up', 'web', 9000000000000000000, 0)")
            try await fixture.sql(site, "INSERT INTO retail.stock VALUES ('down', 'web', -9000000000000000000, 0)")
            try await fixture.sql(site, "INSERT INTO retail.cart_items VALUES ('cart', 'up', 9000000000000000000)")
        }
        await fixture.syncOnce()
        for site in fixture.siteNames {
            do {
                let value = try await fixture.onHand(site, sku: "up", location: "web")
                XCTAssertEqual(value, Int64.max, "at \(site)")
            }
            do {
                let value = try await fixture.onHand(site, sku: "down", location: "web")
                XCTAssertEqual(value, Int64.min, "at \(site)")
            }
            let quantity = try await fixture.value(site, "SELECT quantity::text FROM retail.cart_items WHERE cart_id = 'cart'")
            XCTAssertEqual(quantity, String(Int64.max), "at \(site)")
        }
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: false)
        XCTAssertEqual(listing.entries.map(\.kind), ["oversell"], "the saturated negative row is oversold")
        XCTAssertEqual(listing.entries.first?.key, #"{"sku": "down", "location": "web"}"#)
        await fixture.waitForConvergence(timeout: 10)
    }

    /// After saturating, the visible value no longer equals the sum of the contributions: a
    /// delta written against it would no longer match the row's metadata, so the capture trigger
    /// refuses it, at any site.
    func testDeltaOnASaturatedRowIsRefused() async throws {
        for site in ["store-a", "store-b"] {
            try await fixture.sql(site, "INSERT INTO retail.stock VALUES ('up', 'web', 9000000000000000000, 0)")
        }
        await fixture.syncOnce()
        let before = try await footprint("store-a")
        for site in ["store-a", "web"] {
            await assertFails(
                site, "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'up'", sqlState: "22003",
                mentioning: "on_hand is beyond the bigint range after merging (17999999999999999999 in total)")
        }
        let after = try await footprint("store-a")
        XCTAssertEqual(after, before, "nothing written")
        await fixture.syncOnce()
        await fixture.waitForConvergence(timeout: 10)
    }

    /// Regression: a count resets a saturated row. The merged value once summed contributions and
    /// observations separately, each saturating, so `40 + (9e18 + 9e18) − (9e18 + 9e18)` came out
    /// as `max − max = 0` and the sites never agreed again; it now subtracts per site.
    func testCountResetsASaturatedRowToItsBase() async throws {
        for site in ["store-a", "store-b"] {
            try await fixture.sql(site, "INSERT INTO retail.stock VALUES ('up', 'web', 9000000000000000000, 0)")
        }
        await fixture.syncOnce()
        try await fixture.sql("web", "SELECT retail.record_count('up', 'web', 40)")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "up", location: "web")
            XCTAssertEqual(onHand, 40, "after the count, at \(site)")
        }
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'up'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "up", location: "web")
            XCTAssertEqual(onHand, 39, "after a sale, at \(site)")
        }
        let report = await fixture.verify()
        XCTAssertEqual(report.differences, [], report.render())
    }

    // MARK: - NULLs

    func testNullsWhereAValueIsExpectedFailAtTheApplication() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('n', 'web', 5, 0)")
        await fixture.syncOnce()
        let before = try await footprint("web")
        let notNull: [(String, String)] = [
            ("INSERT INTO retail.stock VALUES (NULL, 'web', 1, 0)", "sku"),
            ("INSERT INTO retail.stock VALUES ('n2', NULL, 1, 0)", "location"),
            ("INSERT INTO retail.stock VALUES ('n3', 'web', NULL, 0)", "on_hand"),
            ("UPDATE retail.stock SET on_hand = NULL WHERE sku = 'n'", "on_hand"),
            ("UPDATE retail.stock SET reserved = reserved + NULL WHERE sku = 'n'", "reserved"),
            ("INSERT INTO retail.cart_items VALUES ('c', 's', NULL)", "quantity"),
            ("INSERT INTO retail.cart_items VALUES (NULL, 's', 1)", "cart_id"),
            ("INSERT INTO retail.orders VALUES (NULL, 'c', 'web', now())", "order_id"),
            ("INSERT INTO retail.order_lines VALUES ('o', 1, 's', NULL)", "quantity"),
            ("INSERT INTO retail.order_lines VALUES ('o', NULL, 's', 1)", "line_no"),
            ("INSERT INTO retail.returns VALUES ('r', 'o', 1, NULL, 'web', now())", "quantity"),
            ("INSERT INTO retail.returns VALUES ('r', NULL, 1, 1, 'web', now())", "order_id"),
        ]
        for (query, column) in notNull {
            await assertFails("web", query, sqlState: "23502", mentioning: "null value in column \"\(column)\"")
        }
        for arguments in ["NULL, 'web', 1", "'n', NULL, 1", "'n', 'web', NULL"] {
            await assertFails(
                "web", "SELECT retail.record_count(\(arguments))", sqlState: "22004",
                mentioning: "retail.record_count needs a sku, a location and a counted quantity")
        }
        let after = try await footprint("web")
        XCTAssertEqual(after, before, "nothing written")

        // Where the contract allows NULL, it arrives as NULL — not as the text 'NULL' or ''.
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-null', NULL, NULL, NULL)")
        try await fixture.sql("web", "INSERT INTO retail.orders VALUES ('o-text', 'NULL', '', NULL)")
        try await fixture.sql("web", "INSERT INTO retail.returns VALUES ('r-null', 'o-null', 1, 1, NULL, NULL)")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let orders = try await fixture.sql(
                site, "SELECT order_id, customer_id, channel, placed_at::text FROM retail.orders ORDER BY order_id")
            XCTAssertEqual(orders, [["o-null", nil, nil, nil], ["o-text", "NULL", "", nil]], "at \(site)")
            let returns = try await fixture.sql(site, "SELECT location, returned_at::text FROM retail.returns")
            XCTAssertEqual(returns, [[nil, nil]], "at \(site)")
        }
        await fixture.waitForConvergence(timeout: 10)
    }

    // MARK: - Change records the daemon cannot use

    /// Writes, in one transaction with an ordinary sale at the web, outbox records that no capture
    /// trigger writes: a table id nobody knows, a stock key without its location, an order key
    /// with a second part, an order line whose number is not one.
    private func writeUnusableChangeRecords() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('fine', 'web', 10, 0)")
        await fixture.syncOnce()
        let session = fixture.newSession("web")
        try await session.withConnection { connection in
            try connection.transaction(label: "hostile outbox") { transaction throws(PostgresError) in
                try transaction.query("UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'fine'", label: "sale")
                try transaction.query(
                    """
                    INSERT INTO omnisync.outbox (table_id, k1, k2) VALUES
                        (42, 'unknown-table', NULL), (1, 'no-location', NULL), (3, 'order', 'extra'), (4, 'order', 'first')
                    """, label: "hostile records")
            }
        }
        await session.disconnect()
        await fixture.syncOnce()
    }

    /// Each unusable record is quarantined at every target with its reason; the sale written with
    /// them arrives; `omnisync status` counts them; discarding them leaves every site in agreement.
    func testUnusableChangeRecordsAreQuarantinedAndTheRestFlows() async throws {
        try await writeUnusableChangeRecords()
        for site in ["store-a", "store-b"] {
            let fine = try await fixture.onHand(site, sku: "fine", location: "web")
            XCTAssertEqual(fine, 9, "the sale arrives at \(site)")
            let held = try await fixture.sql(
                site, "SELECT table_id::text, k1, k2, reason FROM omnisync.quarantine WHERE source_site = 'web' ORDER BY table_id, k1")
            XCTAssertEqual(
                held,
                [
                    ["1", "no-location", "", "missing second key part"], ["3", "order", "extra", "unexpected second key part"],
                    ["4", "order", "first", "line_no is not an integer"], ["42", "unknown-table", "", "unknown table id 42"],
                ], "at \(site)")
        }
        let status = await StatusCollector(configuration: fixture.configuration).collect()
        XCTAssertEqual(status.sites.map(\.quarantined), [0, 4, 4])
        let discarded = try SyncFixture.omnisync(["quarantine", "discard", "all", "-c", fixture.configPath])
        XCTAssertEqual(discarded.status, 0, discarded.stderr)
        let left = await QuarantineLog(configuration: fixture.configuration).list()
        XCTAssertTrue(left.entries.isEmpty)
        await fixture.waitForConvergence(timeout: 10)
    }

    /// Regression: records with a malformed key were quarantined without the warning, because
    /// their keys were compared after being reshaped by the table's key arity; they are now
    /// compared as stored.
    func testUnusableChangeRecordsAreQuarantinedWithAWarning() async throws {
        try await writeUnusableChangeRecords()
        let warnings = fixture.logs.records(withMessage: "row quarantined")
        XCTAssertEqual(warnings.count, 8, "one warning per record per target: \(warnings.map { $0["key"] ?? "?" })")
    }

    /// Regression: a change of a row whose sync state is gone at the source (corrupt metadata) was
    /// dropped without a word when its state was read; it is now quarantined and logged.
    func testChangeOfARowWithoutSyncStateIsQuarantined() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('stateless', 'web', 10, 0)")
        await fixture.syncOnce()
        try await fixture.sql("web", "DELETE FROM omnisync.stock_state WHERE sku = 'stateless'")
        try await fixture.sql("web", "INSERT INTO omnisync.outbox (table_id, k1, k2) VALUES (1, 'stateless', 'web')")
        await fixture.syncOnce()
        for site in ["store-a", "store-b"] {
            let held = try await fixture.sql(site, "SELECT k1 FROM omnisync.quarantine WHERE source_site = 'web'")
            XCTAssertEqual(held, [["stateless"]], "quarantined at \(site)")
        }
        XCTAssertEqual(fixture.logs.records(withMessage: "row quarantined").count, 2, "logged once per target")
    }

    // MARK: - Sites that are not what the configuration says

    private func stop(_ daemon: Subprocess, file: StaticString = #filePath, line: UInt = #line) throws {
        daemon.signal(SIGTERM)
        let termination = try daemon.wait(timeout: 20)
        XCTAssertEqual(termination, .exited(0), "daemon exit; stderr:\n\(daemon.stderr.suffix(3000))", file: file, line: line)
    }

    private func hasRow(_ site: String, sku: String) async throws -> Bool {
        try await fixture.onHand(site, sku: sku, location: "store-a") != nil
    }

    /// A site migrated by a newer omnisync: `run` leaves it alone with an error naming both
    /// versions while the other sites sync; `migrate` refuses it naming both versions; once the
    /// version is right again the daemon picks the site up without a restart.
    func testSiteWithANewerSchemaIsRefusedNamingBothVersions() async throws {
        let binary = Migration.latestVersion
        let newer = binary + 1
        try await fixture.sql(
            "store-b", "INSERT INTO omnisync.schema_migrations (version, name) VALUES ($1::int, 'from a newer omnisync')",
            [String(newer)])
        let daemon = try fixture.startDaemon()
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('while-refused', 'store-a', 5, 0)")
        try await eventually("the other sites sync") { try await hasRow("web", sku: "while-refused") }
        try await Task.sleep(for: .milliseconds(700))
        let reachedB = try await hasRow("store-b", sku: "while-refused")
        XCTAssertFalse(reachedB, "nothing is written to a site of another schema version")
        let message = "schema version \(newer) is newer than this omnisync's \(binary); upgrade omnisync"
        XCTAssertTrue(
            daemon.stderr.contains("level=error msg=\"site not synced\" site=store-b error=\"\(message)\""), daemon.stderr)

        let migrate = try runCLI(["migrate", "-c", fixture.configPath, "--site", "store-b"])
        XCTAssertEqual(migrate.termination, .exited(1))
        XCTAssertTrue(migrate.stderr.contains("omnisync: site store-b: migration failed: \(message)"), migrate.stderr)
        let version = try await fixture.value("store-b", "SELECT max(version)::text FROM omnisync.schema_migrations")
        XCTAssertEqual(version, String(newer), "migrate changed nothing")

        try await fixture.sql("store-b", "DELETE FROM omnisync.schema_migrations WHERE version = $1::int", [String(newer)])
        try await eventually("store-b is synced once its version is right") { try await hasRow("store-b", sku: "while-refused") }
        await fixture.waitForConvergence(timeout: 20)
        try stop(daemon)
        XCTAssertTrue(daemon.stderr.contains("msg=\"site usable again\" site=store-b"), daemon.stderr)
    }

    func testSiteWithAnOlderSchemaIsRefusedNamingBothVersions() async throws {
        let binary = Migration.latestVersion
        try await fixture.sql("store-b", "DELETE FROM omnisync.schema_migrations WHERE version = $1::int", [String(binary)])
        let daemon = try fixture.startDaemon()
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('while-old', 'store-a', 5, 0)")
        try await eventually("the other sites sync") { try await hasRow("web", sku: "while-old") }
        try await Task.sleep(for: .milliseconds(700))
        let reachedB = try await hasRow("store-b", sku: "while-old")
        XCTAssertFalse(reachedB, "nothing is written to a site of another schema version")
        try stop(daemon)
        let message = "schema version \(binary - 1) is older than this omnisync's \(binary); run omnisync migrate --site store-b"
        XCTAssertTrue(
            daemon.stderr.contains("level=error msg=\"site not synced\" site=store-b error=\"\(message)\""), daemon.stderr)
    }

    /// One database under two site names: `migrate` refuses (exit 78) naming both, whichever name
    /// it met first; `run` syncs the first name and refuses the second, naming both.
    func testDatabaseUnderTwoSiteNamesIsRefused() async throws {
        let shared = try fixture.clusters.createDatabase(cluster: 0, prefix: "twice")
        defer { fixture.clusters.dropDatabase(shared) }
        let directory = (fixture.configPath as NSString).deletingLastPathComponent
        let fresh = directory + "/twice.conf"
        try SyncFixture.configText(sites: ["one", "two"], conninfos: [shared, shared]).write(
            toFile: fresh, atomically: true, encoding: .utf8)
        var loser: String?
        for attempt in 1...2 {
            let result = try runCLI(["migrate", "-c", fresh])
            XCTAssertEqual(result.termination, .exited(78), "attempt \(attempt): \(result.stderr)")
            let refusals = [("one", "two"), ("two", "one")].filter { owner, other in
                result.stderr.contains(
                    "omnisync: site \(other): the database belongs to site '\(owner)', not '\(other)'; check conninfo in \(fresh)")
            }
            XCTAssertEqual(refusals.count, 1, "attempt \(attempt): \(result.stderr)")
            if let refused = refusals.first?.1 {
                if let loser { XCTAssertEqual(refused, loser, "the name recorded first stays") }
                loser = refused
            }
        }

        // The fixture's store-a database named again as store-x.
        let aliased = directory + "/aliased.conf"
        try SyncFixture.configText(
            sites: ["web", "store-a", "store-x"],
            conninfos: [fixture.conninfo("web"), fixture.conninfo("store-a"), fixture.conninfo("store-a")]
        ).write(toFile: aliased, atomically: true, encoding: .utf8)
        let migrate = try runCLI(["migrate", "-c", aliased])
        XCTAssertEqual(migrate.termination, .exited(78), migrate.stderr)
        XCTAssertTrue(
            migrate.stderr.contains("omnisync: site store-x: the database belongs to site 'store-a', not 'store-x'"), migrate.stderr)

        let binary = try XCTUnwrap(TestClusters.binaryPath)
        let daemon = try Subprocess(binary, arguments: ["run", "-c", aliased])
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('aliased', 'store-a', 4, 0)")
        try await eventually("web and store-a sync") { try await hasRow("web", sku: "aliased") }
        try await Task.sleep(for: .milliseconds(700))
        try stop(daemon)
        XCTAssertTrue(
            daemon.stderr.contains(
                "level=error msg=\"site not synced\" site=store-x error=\"database belongs to site store-a, not store-x; check the conninfo of [site store-x]\""
            ), daemon.stderr)
        // Nothing was delivered to store-a a second time under the other name.
        let onHand = try await fixture.onHand("web", sku: "aliased", location: "store-a")
        XCTAssertEqual(onHand, 4)
        let cursors = try await fixture.sql("store-a", "SELECT source_site FROM omnisync.cursors ORDER BY 1")
        XCTAssertEqual(cursors, [["web"]])
    }
}
