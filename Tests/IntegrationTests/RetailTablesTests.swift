import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// The retail tables of CONTRACT §7, replicated by the engine through the generic path: click
/// and collect (a forward-only status with `concurrent_status`), loyalty points earned and
/// redeemed in every channel (a counter, with counts and `over_redeem`), customers (last writer
/// wins), a first copy to new peers, quarantine of an unreadable state, and verify.
final class RetailTablesTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func everywhere(_ query: String, _ params: [String?] = []) async throws -> [String?] {
        var values: [String?] = []
        for site in fixture.siteNames { values.append(try await fixture.value(site, query, params)) }
        return values
    }

    private func expectEverywhere(
        _ query: String, _ expected: [String?], _ message: String = "", file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        let values = try await everywhere(query)
        XCTAssertEqual(values, expected, message, file: file, line: line)
    }

    private func assertVerifyPasses(file: StaticString = #filePath, line: UInt = #line) async {
        let report = await fixture.verify()
        XCTAssertTrue(report.unreachable.isEmpty && report.differences.isEmpty, report.render(), file: file, line: line)
    }

    private func openConflicts(_ site: String, kind: String) async throws -> [[String?]] {
        try await fixture.sql(
            site, "SELECT table_name, row_key::text, detail::text FROM omnisync.conflicts WHERE kind = $1 AND resolved_at IS NULL",
            [kind])
    }

    func testClickAndCollectCancelledWhileCollectedEndsCollectedEverywhereWithAConflict() async throws {
        try await fixture.sql("web", "INSERT INTO retail.order_status VALUES ('O-1', 'placed', 'store-a')")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT status || '@' || location FROM retail.order_status", ["placed@store-a", "placed@store-a", "placed@store-a"])
        try await fixture.sql("store-a", "UPDATE retail.order_status SET status = 'ready' WHERE order_id = 'O-1'")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT status FROM retail.order_status", ["ready", "ready", "ready"])

        // The store hands the goods over while the web cancels: neither has seen the other.
        try await fixture.sql("store-a", "UPDATE retail.order_status SET status = 'collected' WHERE order_id = 'O-1'")
        try await fixture.sql("web", "UPDATE retail.order_status SET status = 'cancelled' WHERE order_id = 'O-1'")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT status FROM retail.order_status", ["collected", "collected", "collected"])
        // Found by every site that merges the two writes itself (a site that first hears of them
        // through a third site's merged state sees only the winner): one open conflict each, with
        // the same id everywhere, listed once.
        var found: [[String?]] = []
        for site in fixture.siteNames {
            let conflicts = try await fixture.sql(
                site, "SELECT id, table_name, row_key::text, detail::text FROM omnisync.conflicts "
                    + "WHERE kind = 'concurrent_status' AND resolved_at IS NULL")
            XCTAssertLessThanOrEqual(conflicts.count, 1, "\(site): \(conflicts)")
            found += conflicts
        }
        XCTAssertFalse(found.isEmpty, "no site recorded the concurrent_status conflict")
        XCTAssertEqual(Set(found.map { $0[0] }).count, 1, "one conflict, one id: \(found)")
        for conflict in found {
            XCTAssertEqual(conflict[1], "order_status")
            XCTAssertEqual(conflict[2], #"{"order_id": "O-1"}"#)
            let detail = conflict[3] ?? ""
            for part in ["\"collected\"", "\"cancelled\"", "\"store-a\"", "\"web\""] {
                XCTAssertTrue(detail.contains(part), "the detail names \(part): \(detail)")
            }
        }
        let listed = try SyncFixture.omnisync(["conflicts", "--json", "-c", fixture.configPath])
        XCTAssertEqual(listed.stdout.split(separator: "\n").filter { $0.contains("concurrent_status") }.count, 1, listed.stdout)
        // A status never moves back, in the application's own statement.
        do {
            try await fixture.sql("store-b", "UPDATE retail.order_status SET status = 'ready' WHERE order_id = 'O-1'")
            XCTFail("a status moved back")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "23514", "\(error)")
        }
        await assertVerifyPasses()
    }

    func testLoyaltyPointsEarnedAndRedeemedInEveryChannelAddUpAndAnOverRedeemIsAConflict() async throws {
        try await fixture.sql("web", "INSERT INTO retail.loyalty VALUES ('C-1', 100)")
        await fixture.syncOnce()
        // Earned online, redeemed at two tills, at the same time.
        try await fixture.sql("web", "UPDATE retail.loyalty SET points = points + 20 WHERE customer_id = 'C-1'")
        try await fixture.sql("store-a", "UPDATE retail.loyalty SET points = points - 30 WHERE customer_id = 'C-1'")
        try await fixture.sql("store-b", "UPDATE retail.loyalty SET points = points - 50 WHERE customer_id = 'C-1'")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT points::text FROM retail.loyalty", ["40", "40", "40"])
        for site in fixture.siteNames {
            let conflicts = try await openConflicts(site, kind: "over_redeem")
            XCTAssertEqual(conflicts.count, 0, "\(site)")
        }

        // Two tills redeem what only one of them could: both sales stand, the balance goes below
        // zero, and every site that merges them records one over_redeem conflict.
        try await fixture.sql("store-a", "UPDATE retail.loyalty SET points = points - 40 WHERE customer_id = 'C-1'")
        try await fixture.sql("store-b", "UPDATE retail.loyalty SET points = points - 25 WHERE customer_id = 'C-1'")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT points::text FROM retail.loyalty", ["-25", "-25", "-25"])
        for site in ["web", "store-a", "store-b"] {
            let conflicts = try await openConflicts(site, kind: "over_redeem")
            XCTAssertEqual(conflicts.count, 1, "\(site): \(conflicts)")
            XCTAssertEqual(conflicts.first?[1], #"{"customer_id": "C-1"}"#)
            XCTAssertEqual(conflicts.first?[2], #"{"points": "-25"}"#)
        }

        // A count at the web resets the balance; a redemption it had not seen still applies on top.
        try await fixture.sql("store-b", "UPDATE retail.loyalty SET points = points - 5 WHERE customer_id = 'C-1'")
        try await fixture.sql("web", "SELECT omnisync.record_count('retail.loyalty', ARRAY['C-1'], 'points', 500)")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT points::text FROM retail.loyalty", ["495", "495", "495"])
        do {
            try await fixture.sql("web", "DELETE FROM retail.loyalty")
            XCTFail("a loyalty row was deleted")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "0A000", "\(error)")
        }
        await assertVerifyPasses()
    }

    func testCustomersTakeTheLastWriteOfEachColumn() async throws {
        try await fixture.sql(
            "web", "INSERT INTO retail.customers VALUES ('C-7', 'Ada', 'ada@example.com', NULL, 'en', 'store-a')")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "UPDATE retail.customers SET phone = '+44 1' WHERE customer_id = 'C-7'")
        try await fixture.sql("web", "UPDATE retail.customers SET email = 'ada@example.org' WHERE customer_id = 'C-7'")
        await fixture.syncOnce()
        // Each column keeps its own last write: the till's phone and the web's email both stand.
        try await expectEverywhere(
            "SELECT concat_ws('|', name, email, phone, language, home_location) FROM retail.customers",
            Array(repeating: "Ada|ada@example.org|+44 1|en|store-a", count: 3))
        try await fixture.sql("store-b", "UPDATE retail.customers SET language = 'fr' WHERE customer_id = 'C-7'")
        try await Task.sleep(for: .milliseconds(5))
        try await fixture.sql("web", "UPDATE retail.customers SET language = 'de' WHERE customer_id = 'C-7'")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT language FROM retail.customers", ["de", "de", "de"], "the later write wins")
        await assertVerifyPasses()
    }

    /// Rows written before a site ever synced reach it by the first copy alone (the outbox is
    /// emptied first, so nothing else could bring them).
    func testTheFirstCopyToNewPeersCarriesTheNewTables() async throws {
        try await fixture.sql("web", "INSERT INTO retail.customers (customer_id, name) VALUES ('C-1', 'Grace')")
        try await fixture.sql("web", "INSERT INTO retail.loyalty VALUES ('C-1', 70)")
        try await fixture.sql("store-a", "INSERT INTO retail.order_status VALUES ('O-9', 'paid', 'store-a')")
        for site in fixture.siteNames { try await fixture.sql(site, "DELETE FROM omnisync.outbox") }
        await fixture.syncOnce()
        try await expectEverywhere("SELECT name FROM retail.customers", ["Grace", "Grace", "Grace"])
        try await expectEverywhere("SELECT points::text FROM retail.loyalty", ["70", "70", "70"])
        try await expectEverywhere("SELECT status FROM retail.order_status", ["paid", "paid", "paid"])
        await assertVerifyPasses()
    }

    /// A customer's data never reaches the journal: a row a site's own constraint rejects is
    /// quarantined there with the whole error (its DETAIL names the value, for the person who
    /// fixes it), but no log line quotes the value.
    func testARowRejectedByASiteConstraintIsQuarantinedWithoutItsValuesInTheLog() async throws {
        try await fixture.sql("store-b", "CREATE UNIQUE INDEX customers_email ON retail.customers (email)")
        try await fixture.sql("web", "INSERT INTO retail.customers (customer_id, email) VALUES ('C-1', 'ada@example.com')")
        try await fixture.sql("store-a", "INSERT INTO retail.customers (customer_id, email) VALUES ('C-2', 'ada@example.com')")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT count(*)::text FROM retail.customers", ["2", "2", "1"])
        let reasons = try await fixture.sql("store-b", "SELECT reason FROM omnisync.quarantine").map { $0[0] ?? "" }
        XCTAssertEqual(reasons.count, 1, "\(reasons)")
        XCTAssertTrue(reasons.first?.contains("ada@example.com") == true, "the stored reason keeps the DETAIL: \(reasons)")
        let quarantined = fixture.logs.records(withMessage: "row quarantined")
        XCTAssertEqual(quarantined.count, 1)
        XCTAssertTrue(quarantined.first?["reason"]?.contains("customers_email") == true, "\(quarantined)")
        for record in fixture.logs.records {
            let line = ([record.message] + record.metadata.map { "\($0)" }).joined(separator: " ")
            XCTAssertFalse(line.contains("ada@example.com"), "a log line quotes the customer's email: \(line)")
        }
    }

    /// Guarantee 10 on a generated table: a balance a till holds locked at web is set aside there
    /// while the rest flows, and follows once the till commits.
    func testALoyaltyRowLockedByATillHoldsBackOnlyItself() async throws {
        try await fixture.sql("web", "INSERT INTO retail.loyalty VALUES ('C-9', 100)")
        await fixture.syncOnce()
        let till = try PostgresConnection.connect(conninfo: fixture.conninfo("web"))
        defer { till.close() }
        try till.query("BEGIN", label: "till begin")
        try till.query("SELECT points FROM retail.loyalty WHERE customer_id = 'C-9' FOR UPDATE", label: "till lock")
        try till.query("UPDATE retail.loyalty SET points = points - 10 WHERE customer_id = 'C-9'", label: "till redemption")

        try await fixture.sql("store-a", "UPDATE retail.loyalty SET points = points - 5 WHERE customer_id = 'C-9'")
        try await fixture.sql("store-a", "INSERT INTO retail.customers (customer_id, name) VALUES ('C-9', 'Lin')")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT name FROM retail.customers", ["Lin", "Lin", "Lin"], "the rest flows")
        try await expectEverywhere("SELECT points::text FROM retail.loyalty", ["100", "95", "95"], "set aside at web only")
        let waiting = try await fixture.value("web", "SELECT count(*) FROM omnisync.quarantine WHERE table_id = 7 AND k1 = 'C-9'")
        XCTAssertEqual(waiting, "1", "the row waits on the lock at web")
        let listing = try SyncFixture.omnisync(["quarantine", "-c", fixture.configPath])
        XCTAssertFalse(listing.stdout.contains("C-9"), "a locked row is not quarantined:\n\(listing.stdout)")

        // The running engine retries rows waiting on a lock every 100-500 ms.
        let engine = fixture.makeEngine()
        let running = Task { await engine.run() }
        try await Task.sleep(for: .milliseconds(700))
        try await expectEverywhere("SELECT points::text FROM retail.loyalty", ["100", "95", "95"], "still held while locked")
        try till.query("COMMIT", label: "till commit")
        try await eventually(timeout: 10, "the held change follows the release") {
            try await self.everywhere("SELECT points::text FROM retail.loyalty") == ["85", "85", "85"]
        }
        engine.stop()
        await running.value
        let left = try await fixture.value("web", "SELECT count(*) FROM omnisync.quarantine")
        XCTAssertEqual(left, "0")
        await assertVerifyPasses()
    }

    /// A state no daemon can read is quarantined at each target with the reason, and the other
    /// rows flow; verify names it. Repaired at the source and retried, it arrives.
    func testAnUnreadableStateIsQuarantinedAndTheRestFlows() async throws {
        try await fixture.sql("web", "INSERT INTO retail.customers (customer_id, name) VALUES ('C-bad', 'X'), ('C-ok', 'Y')")
        try await fixture.sql("web", "UPDATE omnisync.\"state:retail.customers\" SET state_format = 99 WHERE customer_id = 'C-bad'")
        await fixture.syncOnce()
        try await expectEverywhere("SELECT string_agg(customer_id, ',' ORDER BY customer_id) FROM retail.customers",
                       ["C-bad,C-ok", "C-ok", "C-ok"])
        let held = try await fixture.sql(
            "store-a", "SELECT source_site, table_id::text, k1, reason FROM omnisync.quarantine")
        XCTAssertEqual(held.count, 1, "\(held)")
        XCTAssertEqual(held.first?[0], "web")
        XCTAssertEqual(held.first?[1], "6")
        XCTAssertEqual(held.first?[2], "C-bad")
        XCTAssertTrue((held.first?[3] ?? "").contains("format"), "the reason says why: \(held)")
        let listing = try SyncFixture.omnisync(["quarantine", "-c", fixture.configPath])
        XCTAssertTrue(listing.stdout.contains("customers"), listing.stdout)
        XCTAssertTrue(listing.stdout.contains("C-bad"), listing.stdout)

        try await fixture.sql("web", "UPDATE omnisync.\"state:retail.customers\" SET state_format = 1 WHERE customer_id = 'C-bad'")
        let retry = try SyncFixture.omnisync(["quarantine", "retry", "all", "-c", fixture.configPath])
        XCTAssertEqual(retry.status, 0, retry.stderr)
        await fixture.syncOnce()
        try await expectEverywhere("SELECT string_agg(customer_id, ',' ORDER BY customer_id) FROM retail.customers",
                       ["C-bad,C-ok", "C-bad,C-ok", "C-bad,C-ok"])
        await assertVerifyPasses()
    }
}
