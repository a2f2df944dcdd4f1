import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// Guarantee 11 (CONTRACT §9): with `omnisync.notify = off`, capture sends no notification, so
/// an application's transaction can be prepared (two-phase commit); its changes arrive at the
/// site's next wake-up once it is committed, and nothing when it is rolled back.
final class TwoPhaseCommitTests: XCTestCase {
    var fixture: SyncFixture!
    /// Connections the tests opened as applications would (tills).
    private var tills: [PostgresConnection] = []

    override func tearDown() async throws {
        for till in tills { till.close() }
        tills = []
        if let fixture {
            // A prepared transaction outlives its session and would keep the database from being dropped.
            for site in fixture.siteNames {
                let gids = (try? await fixture.sql(
                    site, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")) ?? []
                for gid in gids.compactMap({ $0.first ?? nil }) {
                    _ = try? await fixture.sql(site, "ROLLBACK PREPARED '\(gid)'")
                }
            }
            await fixture.tearDown()
        }
    }

    private func till(_ site: String) throws -> PostgresConnection {
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo(site), label: "till")
        tills.append(connection)
        return connection
    }

    private func gid() -> String { "omnisync-test-\(UUID().uuidString)" }

    private func onHandEverywhere(_ sku: String, location: String = "store-a") async throws -> [Int64?] {
        var values: [Int64?] = []
        for site in fixture.siteNames { values.append(try await fixture.onHand(site, sku: sku, location: location)) }
        return values
    }

    private func everySite(_ sku: String, location: String = "store-a", shows expected: Int64) async throws -> Bool {
        try await onHandEverywhere(sku, location: location).allSatisfy { $0 == expected }
    }

    private func everySite(shows expected: [(sku: String, location: String, onHand: Int64)]) async throws -> Bool {
        for (sku, location, onHand) in expected where try await !everySite(sku, location: location, shows: onHand) {
            return false
        }
        return true
    }

    private func pendingPrepared(_ site: String) async throws -> Int {
        Int(try await fixture.value(site, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()") ?? "") ?? -1
    }

    private func stopDaemon(_ daemon: Subprocess, file: StaticString = #filePath, line: UInt = #line) throws {
        daemon.signal(SIGTERM)
        let termination = try daemon.wait(timeout: 20)
        XCTAssertEqual(termination.code, 0, "daemon exit; stderr:\n\(daemon.stderr.suffix(3000))", file: file, line: line)
    }

    private func assertVerifyPasses(file: StaticString = #filePath, line: UInt = #line) throws {
        let verify = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(verify.status, 0, "verify:\n\(verify.stdout)\(verify.stderr)", file: file, line: line)
    }

    /// Which spellings turn the notification off: a transaction that wrote a replicated table
    /// (and one that recorded a count) can be prepared exactly when the setting is off.
    func testOnlyTheOffSpellingsOfTheSettingLetATransactionBePrepared() async throws {
        fixture = try await SyncFixture.make()
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('spell', 'store-a', 100, 0)")
        let till = try till("store-a")
        for value in ["off", "OFF", " false ", "no", "0"] {
            let id = gid()
            try till.query("BEGIN", label: "begin")
            try till.query("SELECT set_config('omnisync.notify', $1, true)", [value], label: "notify setting")
            try till.query("UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'spell'", label: "sale")
            try till.query("SELECT retail.record_count('counted', 'store-a', 7)", label: "count")
            XCTAssertNoThrow(try till.query("PREPARE TRANSACTION '\(id)'", label: "prepare"), "omnisync.notify = '\(value)'")
            try till.query("COMMIT PREPARED '\(id)'", label: "commit prepared")
        }
        for value in [nil, "on", "true", "", "offf", "1"] as [String?] {
            try till.query("BEGIN", label: "begin")
            if let value {
                try till.query("SELECT set_config('omnisync.notify', $1, true)", [value], label: "notify setting")
            }
            try till.query("UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'spell'", label: "sale")
            XCTAssertThrowsError(try till.query("PREPARE TRANSACTION '\(gid())'", label: "prepare"), "omnisync.notify = \(value ?? "unset")") {
                XCTAssertEqual(($0 as? PostgresError)?.sqlState, "0A000", "\($0)")
            }
            XCTAssertTrue(till.isIdle, "a failed PREPARE ends the transaction")
        }
        // The count alone notifies too, unless told not to.
        try till.query("BEGIN", label: "begin")
        try till.query("SELECT retail.record_count('counted', 'store-a', 8)", label: "count")
        XCTAssertThrowsError(try till.query("PREPARE TRANSACTION '\(gid())'", label: "prepare"))
        let onHand = try await fixture.onHand("store-a", sku: "spell", location: "store-a")
        XCTAssertEqual(onHand, 95, "the five prepared and committed sales, none of the refused ones")
        let counted = try await fixture.onHand("store-a", sku: "counted", location: "store-a")
        XCTAssertEqual(counted, 7)
        // Every captured change is in the outbox, prepared or not.
        let records = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox WHERE k1 = 'spell'")
        XCTAssertEqual(records, "6")
    }

    /// A database of schema version 4 (before the setting existed) upgrades in place: its pending
    /// change is kept and delivered, a second migrate changes nothing, and the setting then works.
    func testUpgradeFromVersion4KeepsPendingChangesAndThenHonoursTheSetting() async throws {
        fixture = try await SyncFixture.make(migrate: false)
        for site in fixture.siteNames {
            let connection = try till(site)
            try connection.transaction(label: "install version 4") { transaction throws(PostgresError) in
                for migration in Migration.all where migration.version <= 4 {
                    try transaction.execute(script: migration.sql, label: migration.name)
                    try transaction.query(
                        "INSERT INTO omnisync.schema_migrations (version, name) VALUES ($1::int, $2)",
                        [String(migration.version), migration.name], label: "record migration")
                }
                try transaction.query("INSERT INTO omnisync.site (name) VALUES ($1)", [site], label: "record site")
            }
        }
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('old', 'store-a', 10, 0)")
        let first = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("migrated from version 4 to \(Migration.latestVersion)"), first.stdout)
        let second = try SyncFixture.omnisync(["migrate", "-c", fixture.configPath])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("up to date"), second.stdout)

        let till = try till("store-a")
        let id = gid()
        try till.query("BEGIN", label: "begin")
        try till.query("SET LOCAL omnisync.notify = off", label: "no notification")
        try till.query("UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'old'", label: "sale")
        try till.query("PREPARE TRANSACTION '\(id)'", label: "prepare")
        try till.query("COMMIT PREPARED '\(id)'", label: "commit prepared")
        await fixture.syncOnce()
        let values = try await onHandEverywhere("old")
        XCTAssertEqual(values, [9, 9, 9], "the change from before the upgrade and the prepared one")
        try assertVerifyPasses()
    }

    /// A prepared sale (stock, order, order line) committed 10 s later arrives exactly at every
    /// site; meanwhile other sales at the same site and elsewhere flow as usual.
    func testPreparedSaleCommittedTenSecondsLaterArrivesExactly() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 1000)
        for sku in ["prepared", "other"] {
            try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ($1, 'store-a', 100, 0)", [sku])
        }
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('online', 'web', 100, 0)")
        let daemon = try fixture.startDaemon()
        try await eventually("seed delivered") {
            try await everySite(shows: [("prepared", "store-a", 100), ("other", "store-a", 100), ("online", "web", 100)])
        }

        let till = try till("store-a")
        let id = gid()
        try till.query("BEGIN", label: "begin")
        try till.query("SET LOCAL omnisync.notify = off", label: "no notification")
        try till.query("UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'prepared'", label: "sale")
        try till.query("INSERT INTO retail.orders VALUES ('o-2pc', 'c-1', 'store-a', now())", label: "order")
        try till.query("INSERT INTO retail.order_lines VALUES ('o-2pc', 1, 'prepared', 3)", label: "line")
        try till.query("PREPARE TRANSACTION '\(id)'", label: "prepare")
        let prepared = ContinuousClock.now

        // Other transactions, at the same site and elsewhere, while the prepared one is pending.
        try await fixture.repeatStatement(
            "store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'other'", count: 20)
        try await fixture.repeatStatement(
            "web", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'online'", count: 20)
        try await eventually(timeout: 8, "other sales arrive while the prepared one is pending") {
            try await everySite(shows: [("other", "store-a", 80), ("online", "web", 80)])
        }
        let pending = try await pendingPrepared("store-a")
        XCTAssertEqual(pending, 1, "the other sales arrived before the prepared one was committed")
        let before = try await onHandEverywhere("prepared")
        XCTAssertEqual(before, [100, 100, 100], "a prepared transaction is not committed: nothing of it shows")

        try await Task.sleep(until: prepared + .seconds(10), clock: .continuous)
        try await fixture.sql("store-a", "COMMIT PREPARED '\(id)'")
        try await eventually(timeout: 15, "the prepared sale arrives once committed") {
            try await everySite("prepared", shows: 97)
        }
        await fixture.waitForConvergence(timeout: 15)
        try stopDaemon(daemon)
        let after = try await onHandEverywhere("prepared")
        XCTAssertEqual(after, [97, 97, 97])
        let others = try await onHandEverywhere("other")
        XCTAssertEqual(others, [80, 80, 80])
        for site in fixture.siteNames {
            let lines = try await fixture.sql(site, "SELECT order_id, line_no::text, sku, quantity::text FROM retail.order_lines")
            XCTAssertEqual(lines, [["o-2pc", "1", "prepared", "3"]], "order lines at \(site)")
        }
        try assertVerifyPasses()
    }

    /// `ROLLBACK PREPARED` delivers nothing, while the other sales around it arrive.
    func testRolledBackPreparedTransactionDeliversNothing() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 500)
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('undone', 'store-a', 100, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('kept', 'store-a', 100, 0)")
        let daemon = try fixture.startDaemon()
        try await eventually("seed delivered") { try await everySite("undone", shows: 100) }

        let till = try till("store-a")
        let id = gid()
        try till.query("BEGIN", label: "begin")
        try till.query("SET LOCAL omnisync.notify = off", label: "no notification")
        try till.query("UPDATE retail.stock SET on_hand = on_hand - 5 WHERE sku = 'undone'", label: "sale")
        try till.query("INSERT INTO retail.orders VALUES ('o-undone', 'c-1', 'store-a', now())", label: "order")
        try till.query("PREPARE TRANSACTION '\(id)'", label: "prepare")
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'kept'")
        try await eventually(timeout: 8, "another sale arrives meanwhile") { try await everySite("kept", shows: 99) }
        try await fixture.sql("store-a", "ROLLBACK PREPARED '\(id)'")
        // A sale of the same row after the rollback: it arrives, and with it no trace of the other.
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'undone'")
        try await eventually(timeout: 8, "the later sale arrives") { try await everySite("undone", shows: 99) }
        // Two safety polls more: nothing else is on its way.
        try await Task.sleep(for: .milliseconds(1200))
        await fixture.waitForConvergence(timeout: 10)
        try stopDaemon(daemon)
        let undone = try await onHandEverywhere("undone")
        XCTAssertEqual(undone, [99, 99, 99])
        for site in fixture.siteNames {
            let orders = try await fixture.value(site, "SELECT count(*) FROM retail.orders")
            XCTAssertEqual(orders, "0", "orders at \(site)")
        }
        try assertVerifyPasses()
    }

    /// Without a safety poll to speak of, a change written with the setting off waits for the
    /// site's next notification (it sent none itself) and then arrives with it.
    func testChangeWithoutNotificationArrivesWithTheNextNotification() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 600_000)
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('quiet', 'store-a', 100, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('loud', 'store-a', 100, 0)")
        let daemon = try fixture.startDaemon()
        try await eventually("seed delivered") { try await everySite(shows: [("quiet", "store-a", 100), ("loud", "store-a", 100)]) }

        // A session setting, autocommit: no prepare at all.
        let till = try till("store-a")
        try till.query("SET omnisync.notify = off", label: "no notification")
        try till.query("UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'quiet'", label: "quiet sale")
        try await Task.sleep(for: .milliseconds(1500))
        let waiting = try await fixture.onHand("web", sku: "quiet", location: "store-a")
        XCTAssertEqual(waiting, 100, "no notification was sent, and the safety poll is ten minutes away")

        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'loud'")
        try await eventually(timeout: 8, "both arrive with the next notification") {
            try await everySite(shows: [("quiet", "store-a", 98), ("loud", "store-a", 99)])
        }
        await fixture.waitForConvergence(timeout: 10)
        try stopDaemon(daemon)
        try assertVerifyPasses()
    }

    /// With nothing else happening at the site, the safety poll delivers a change written with the
    /// setting off, including a count.
    func testChangeWithoutNotificationArrivesByTheSafetyPoll() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 1000)
        try await fixture.sql("store-b", "INSERT INTO retail.stock VALUES ('polled', 'store-b', 100, 0)")
        let daemon = try fixture.startDaemon()
        try await eventually("seed delivered") { try await everySite("polled", location: "store-b", shows: 100) }

        let till = try till("store-b")
        try till.query("SET omnisync.notify = false", label: "no notification")
        try till.query("UPDATE retail.stock SET on_hand = on_hand - 4 WHERE sku = 'polled'", label: "quiet sale")
        try await eventually(timeout: 10, "the safety poll delivers it") {
            try await everySite("polled", location: "store-b", shows: 96)
        }
        try till.query("BEGIN", label: "begin")
        try till.query("SET LOCAL omnisync.notify = 0", label: "no notification")
        try till.query("SELECT retail.record_count('polled', 'store-b', 50)", label: "count")
        try till.query("COMMIT", label: "commit")
        try await eventually(timeout: 10, "the count too") { try await everySite("polled", location: "store-b", shows: 50) }
        await fixture.waitForConvergence(timeout: 10)
        try stopDaemon(daemon)
        try assertVerifyPasses()
    }
}
