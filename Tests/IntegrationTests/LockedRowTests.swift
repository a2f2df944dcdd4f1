import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// Guarantee 10: a row that an application keeps locked at a target (a till's open
/// transaction) holds back only itself; every other row keeps flowing, and the held row follows
/// within moments of the release — exactly, whether or not the daemon died meanwhile.
final class LockedRowTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 300)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private static let skus = (0..<100).map { "free-\($0)" }
    private static let setAside = "row set aside, locked at site"
    private static let released = "row released, lock gone"

    /// Stock at store-a for the held SKU and 100 others, delivered everywhere by `daemon`.
    private func seed() async throws {
        var values: [String] = ["('held', 'store-a', 1000, 0)"]
        values += Self.skus.map { "('\($0)', 'store-a', 1000, 0)" }
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES " + values.joined(separator: ", "))
    }

    private func waitForSeed() async throws {
        let fixture: SyncFixture = self.fixture
        try await eventually("seed everywhere") {
            for site in fixture.siteNames {
                let count = try await fixture.value(site, "SELECT count(*) FROM retail.stock WHERE on_hand = 1000")
                if count != "101" { return false }
            }
            return true
        }
        // Every link has its cursor (a link still bootstrapping would copy again after a kill).
        await fixture.waitForConvergence(timeout: 15)
    }

    /// A till at web: an open transaction that sold one of the held SKU and keeps the row locked.
    private func lockAtWeb() throws -> PostgresConnection {
        let till = try PostgresConnection.connect(conninfo: fixture.conninfo("web"))
        try till.query("BEGIN", label: "till begin")
        try till.query("SELECT on_hand FROM retail.stock WHERE sku = 'held' FOR UPDATE", label: "till lock")
        try till.query("UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'held'", label: "till sale")
        return till
    }

    /// `count` sales at store-a spread over the free SKUs, each its own transaction.
    private func sellFree(_ count: Int, round: Int = 0) async throws {
        let session = fixture.newSession("store-a")
        for index in 0..<count {
            let sku = Self.skus[(index + round) % Self.skus.count]
            _ = try await session.withConnection {
                try $0.query("UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = $1", [sku], label: "sale")
            }
        }
        await session.disconnect()
    }

    /// The sum of on_hand over the free SKUs at `site`.
    private func freeSum(_ site: String) async throws -> Int64 {
        Int64(try await fixture.value(site, "SELECT sum(on_hand) FROM retail.stock WHERE sku LIKE 'free-%'") ?? "") ?? -1
    }

    private func statusWaiting(source: String, target: String) throws -> Int? {
        let result = try SyncFixture.omnisync(["status", "-c", fixture.configPath, "--json"])
        guard let data = result.stdout.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let sites = object["sites"] as? [[String: Any]],
            let site = sites.first(where: { $0["site"] as? String == source }),
            let peers = site["peers"] as? [[String: Any]],
            let peer = peers.first(where: { $0["peer"] as? String == target })
        else { return nil }
        return peer["waiting_on_lock"] as? Int
    }

    private func occurrences(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    private func stop(_ daemon: Subprocess, file: StaticString = #filePath, line: UInt = #line) throws {
        daemon.signal(SIGTERM)
        let termination = try daemon.wait(timeout: 20)
        XCTAssertEqual(termination.code, 0, "daemon exit; stderr:\n\(daemon.stderr.suffix(3000))", file: file, line: line)
    }

    private func assertExact(heldOnHand: Int64, freeSum expected: Int64, file: StaticString = #filePath, line: UInt = #line) async throws {
        for site in fixture.siteNames {
            let held = try await fixture.onHand(site, sku: "held", location: "store-a")
            XCTAssertEqual(held, heldOnHand, "held row at \(site)", file: file, line: line)
            let sum = try await freeSum(site)
            XCTAssertEqual(sum, expected, "free rows at \(site)", file: file, line: line)
        }
        let verify = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(verify.status, 0, "verify:\n\(verify.stdout)\(verify.stderr)", file: file, line: line)
    }

    // MARK: - Tests

    func testLockedRowHoldsBackOnlyItselfAndFollowsItsRelease() async throws {
        let fixture: SyncFixture = self.fixture
        try await seed()
        let daemon = try fixture.startDaemon()
        try await waitForSeed()
        let till = try lockAtWeb()
        defer { till.close() }
        let locked = Date()
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 5 WHERE sku = 'held'")
        try await sellFree(1000)
        let committed = Date()
        try await eventually(timeout: 5, "the other 1,000 sales at web while the row is locked") {
            try await self.freeSum("web") == 100 * 1000 - 1000
        }
        // The till keeps its lock until after this: the others arrived while the row was locked.
        let arrived = Date().timeIntervalSince(committed)
        XCTAssertLessThan(arrived, 5)
        // Only the link into web is held; store-b has store-a's change of the held row.
        try await eventually(timeout: 5, "store-b has the held row's change") {
            try await fixture.onHand("store-b", sku: "held", location: "store-a") == 995
        }
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "web"), 1, "status while held")
        // verify does not call the sites in step while a change waits, whatever the values say.
        let waiting = try SyncFixture.omnisync(["verify", "-c", fixture.configPath])
        XCTAssertEqual(waiting.status, 1, waiting.stdout + waiting.stderr)
        XCTAssertTrue(waiting.stdout.contains("site=store-a peer=web waiting_on_lock=1"), waiting.stdout)
        XCTAssertEqual(try statusWaiting(source: "store-b", target: "web"), 0)
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "store-b"), 0)
        let listing = try SyncFixture.omnisync(["quarantine", "-c", fixture.configPath])
        XCTAssertFalse(listing.stdout.contains("held"), "a locked row is not quarantined:\n\(listing.stdout)")

        let remaining = 10 - Date().timeIntervalSince(locked)
        if remaining > 0 { try await Task.sleep(for: .milliseconds(Int(remaining * 1000))) }
        try till.query("COMMIT", label: "till commit")
        let release = Date()
        try await eventually(timeout: 3, "the held row's change at web soon after the release") {
            try await fixture.onHand("web", sku: "held", location: "store-a") == 994
        }
        let followed = Date().timeIntervalSince(release)
        try await eventually(timeout: 5, "the till's sale everywhere") {
            for site in fixture.siteNames where try await fixture.onHand(site, sku: "held", location: "store-a") != 994 {
                return false
            }
            return true
        }
        try await eventually(timeout: 5, "status shows none waiting after the release") {
            try self.statusWaiting(source: "store-a", target: "web") == 0
        }
        await fixture.waitForConvergence(timeout: 10)
        try stop(daemon)
        try await assertExact(heldOnHand: 994, freeSum: 99_000)
        let log = daemon.stderr
        XCTAssertEqual(occurrences(Self.setAside, in: log), 1, "one line when set aside:\n\(log.suffix(3000))")
        XCTAssertEqual(occurrences(Self.released, in: log), 1, "one line when released")
        XCTAssertEqual(occurrences("delivery failed", in: log), 0, "no failed batch:\n\(log.suffix(3000))")
        XCTAssertLessThan(followed, 3)
        print("locked row: others arrived \(String(format: "%.2f", arrived)) s after their commit, held row \(String(format: "%.2f", followed)) s after the release")
    }

    func testDaemonKilledWhileARowIsHeldLosesNothing() async throws {
        let fixture: SyncFixture = self.fixture
        try await seed()
        let daemon = try fixture.startDaemon()
        try await waitForSeed()
        let till = try lockAtWeb()
        defer { till.close() }
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 5 WHERE sku = 'held'")
        try await sellFree(200)
        // Later sales at web arrive: the cursor has passed the held row's change.
        try await eventually(timeout: 10, "the other sales at web") { try await self.freeSum("web") == 99_800 }
        try await eventually(timeout: 5, "set aside") { daemon.stderr.contains(Self.setAside) }
        daemon.signal(SIGKILL)
        _ = try daemon.wait(timeout: 10)
        // With no daemon, the row is still counted as waiting (status reads the sites' tables).
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "web"), 1)
        try await sellFree(100, round: 7)
        try till.query("COMMIT", label: "till commit")
        let restarted = try fixture.startDaemon()
        try await eventually(timeout: 10, "the held row's change at web after the restart") {
            try await fixture.onHand("web", sku: "held", location: "store-a") == 994
        }
        await fixture.waitForConvergence(timeout: 15)
        try stop(restarted)
        try await assertExact(heldOnHand: 994, freeSum: 99_700)
        XCTAssertEqual(occurrences(Self.released, in: restarted.stderr), 1, restarted.stderr.suffix(3000).description)
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "web"), 0)
    }

    func testLongLockKeepsOthersFlowingWithoutATightRetryLoop() async throws {
        let fixture: SyncFixture = self.fixture
        try await seed()
        let metricsPath = (fixture.configPath as NSString).deletingLastPathComponent + "/omnisync.prom"
        let config = SyncFixture.configText(
            sites: fixture.siteNames, conninfos: fixture.siteNames.map(fixture.conninfo), pollIntervalMs: 300
        ).replacingOccurrences(of: "[daemon]\n", with: "[daemon]\nmetrics_file = \(metricsPath)\n")
        let daemon = try fixture.startDaemon(configPath: try fixture.writeFile("locked.conf", config))
        try await waitForSeed()
        let till = try lockAtWeb()
        defer { till.close() }
        let locked = Date()
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 5 WHERE sku = 'held'")
        // Waves of sales for 30 s: each arrives at web while the row stays locked.
        var wave = 0
        var slowest = 0.0
        while Date().timeIntervalSince(locked) < 30 {
            wave += 1
            try await sellFree(20, round: wave * 20)
            let committed = Date()
            let expected = Int64(100_000 - 20 * wave)
            try await eventually(timeout: 5, "wave \(wave) at web") { try await self.freeSum("web") == expected }
            slowest = max(slowest, Date().timeIntervalSince(committed))
            try await Task.sleep(for: .seconds(2))
        }
        XCTAssertGreaterThanOrEqual(wave, 5)
        XCTAssertLessThan(slowest, 5)
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "web"), 1)
        let metrics = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
        let gauge = metrics.split(separator: "\n").first {
            $0.hasPrefix("omnisync_rows_waiting_on_lock{") && $0.contains("site=\"web\"") && $0.contains("peer=\"store-a\"")
        }
        XCTAssertEqual(gauge.map { $0.split(separator: " ").last.map(String.init) }, "1", "metrics while held:\n\(metrics)")
        // Each try that found the row still locked counts one in `held`: a few per second at most.
        let attempts = Int(try await fixture.value(
            "web", "SELECT held FROM omnisync.quarantine WHERE source_site = 'store-a' AND k1 = 'held'") ?? "") ?? -1
        let seconds = Date().timeIntervalSince(locked)
        XCTAssertGreaterThanOrEqual(attempts, 10, "retried while held")
        XCTAssertLessThanOrEqual(Double(attempts), seconds * 4, "no tight retry loop: \(attempts) tries in \(Int(seconds)) s")

        try till.query("COMMIT", label: "till commit")
        let release = Date()
        try await eventually(timeout: 3, "the held row's change at web soon after the release") {
            try await fixture.onHand("web", sku: "held", location: "store-a") == 994
        }
        XCTAssertLessThan(Date().timeIntervalSince(release), 3)
        await fixture.waitForConvergence(timeout: 10)
        try stop(daemon)
        let after = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(
            after.split(separator: "\n").contains {
                $0.hasPrefix("omnisync_rows_waiting_on_lock{") && $0.contains("site=\"web\"")
                    && $0.contains("peer=\"store-a\"") && $0.hasSuffix(" 0")
            }, "metrics after the release:\n\(after)")
        try await assertExact(heldOnHand: 994, freeSum: Int64(100_000 - 20 * wave))
        let log = daemon.stderr
        XCTAssertEqual(occurrences(Self.setAside, in: log), 1)
        XCTAssertEqual(occurrences(Self.released, in: log), 1)
        XCTAssertEqual(occurrences("delivery failed", in: log), 0)
        XCTAssertEqual(occurrences("batch retried later", in: log), 0)
    }

    /// A till inserting a row that another site's change also creates: the insert would wait for
    /// the till's transaction, so it is bounded and the row set aside; the rest of the batch applies.
    func testRowBeingInsertedByAnOpenTransactionIsSetAside() async throws {
        let fixture: SyncFixture = self.fixture
        try await seed()
        await fixture.syncOnce()
        let till = try PostgresConnection.connect(conninfo: fixture.conninfo("web"))
        defer { till.close() }
        try till.query("BEGIN", label: "till begin")
        try till.query("INSERT INTO retail.stock VALUES ('fresh', 'store-a', 7, 0)", label: "till insert")
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('fresh', 'store-a', 3, 0)")
        try await sellFree(50)
        let engine = fixture.makeEngine()
        let started = Date()
        await engine.syncOnce()
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the engine did not wait for the till")
        let atWeb = try await freeSum("web")
        XCTAssertEqual(atWeb, 99_950, "the rest of the batch applied")
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "web"), 1)
        try till.query("COMMIT", label: "till commit")
        // The link tries the row again on its own once its short retry interval has passed.
        try await eventually(timeout: 10, "the row set aside follows its release") {
            await engine.syncOnce()
            return try await fixture.onHand("web", sku: "fresh", location: "store-a") == 10
        }
        await engine.syncOnce()
        await engine.shutdown()
        for site in fixture.siteNames {
            let value = try await fixture.onHand(site, sku: "fresh", location: "store-a")
            XCTAssertEqual(value, 10, "both inserts count at \(site)")
        }
        await fixture.waitForConvergence(timeout: 10)
        XCTAssertEqual(try statusWaiting(source: "store-a", target: "web"), 0)
    }
}
