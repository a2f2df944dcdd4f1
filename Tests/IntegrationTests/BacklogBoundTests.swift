import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// Resource bounds: a site offline while a large backlog for it accumulates elsewhere. The daemon
/// reads the backlog in pages (`batch_size`), never whole, so its memory does not grow with it;
/// the backlog stays in the source's outbox only, and is pruned once delivered.
final class BacklogBoundTests: XCTestCase {
    /// The daemon's peak resident memory (VmHWM) may not exceed this while it delivers the
    /// backlog. Measured at 30–40 MB (debug build); the margin is wide on purpose: the bound is
    /// there to catch a backlog loaded whole (200,000 states would take hundreds of MB), not noise.
    static let peakMemoryLimitBytes = 200 * 1024 * 1024
    /// 1,000 statements each selling one of each of 200 items: 200,000 changes, each one
    /// outbox record (a store's day, many times over: the same items sold again and again).
    static let rows = 200
    static let rounds = 1_000

    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 300)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testBacklogOf200000ChangesForAnOfflineSiteIsDeliveredWithBoundedMemory() async throws {
        let fixture: SyncFixture = self.fixture
        let started = ContinuousClock.now
        func elapsed() -> String { String(format: "%.1fs", (ContinuousClock.now - started).soakSeconds) }

        try await fixture.sql(
            "store-a",
            "INSERT INTO retail.stock SELECT 'bulk-' || g, 'store-a', 1000000, 0 FROM generate_series(1, $1::int) AS g",
            [String(Self.rows)])
        let daemon = try fixture.startDaemon()
        try await eventually(timeout: 60, "the rows reach store-b") {
            try await fixture.value("store-b", "SELECT count(*) FROM retail.stock") == String(Self.rows)
        }

        let storeB = fixture.cluster(of: "store-b")
        try fixture.clusters.stopCluster(storeB)
        var restarted = false
        defer { if !restarted { try? fixture.clusters.startCluster(storeB) } }
        let writer = fixture.newSession("store-a")
        for _ in 0..<Self.rounds {
            try await writer.withConnection { connection in
                try connection.query(
                    "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE location = 'store-a'", label: "backlog round")
            }
        }
        await writer.disconnect()
        try await fixture.repeatStatement(
            "web", "UPDATE retail.stock SET on_hand = on_hand + 1 WHERE sku = 'bulk-1'", count: 50)
        let written = elapsed()

        // The backlog lives in store-a's outbox alone: the web holds its own 50 changes and one
        // state per row, however many changes it received.
        let backlog = Int(try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox") ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(backlog, Self.rows * Self.rounds)
        try await eventually(timeout: 240, "the web receives the changes") {
            try await fixture.value("web", "SELECT sum(on_hand)::text FROM retail.stock")
                == String(Self.rows * (1_000_000 - Self.rounds) + 50)
        }
        let webOutbox = try await fixture.value("web", "SELECT count(*) FROM omnisync.outbox")
        XCTAssertEqual(webOutbox, "50", "the web's outbox holds only its own changes")
        let webStates = try await fixture.value("web", "SELECT count(*) FROM omnisync.stock_state")
        XCTAssertEqual(webStates, String(Self.rows))

        try fixture.clusters.startCluster(storeB)
        restarted = true
        // Delivered: every site equal, and no outbox record left undelivered (the cursors have
        // walked the whole backlog, not only the rows' latest states).
        let deadline = ContinuousClock.now + .seconds(300)
        var report = await fixture.verify()
        while !(report.differences.isEmpty && report.unreachable.isEmpty), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            report = await fixture.verify()
        }
        XCTAssertTrue(report.differences.isEmpty && report.unreachable.isEmpty, "not delivered:\n\(report.render())")
        let onHand = try await fixture.value("store-b", "SELECT sum(on_hand)::text FROM retail.stock")
        XCTAssertEqual(onHand, String(Self.rows * (1_000_000 - Self.rounds) + 50))
        let delivered = elapsed()
        let peak = try Self.peakResidentBytes(pid: daemon.pid)

        // Pruned once every site has it (the daemon prunes every 30 s).
        let pruneDeadline = ContinuousClock.now + .seconds(75)
        var outboxes: [String] = []
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            outboxes = []
            for site in fixture.siteNames {
                outboxes.append(try await fixture.value(site, "SELECT count(*) FROM omnisync.outbox") ?? "?")
            }
        } while outboxes != ["0", "0", "0"] && ContinuousClock.now < pruneDeadline
        let pruned = elapsed()
        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.wait(timeout: 30), .exited(0), daemon.stderr.suffix(2000).description)
        if outboxes != ["0", "0", "0"] {
            var state: [String] = []
            for site in fixture.siteNames {
                let acks = try await fixture.sql(site, "SELECT target_site, done_xmin::text FROM omnisync.delivery_acks ORDER BY 1")
                let cursors = try await fixture.sql(site, "SELECT source_site, done_snapshot::text FROM omnisync.cursors ORDER BY 1")
                let txids = try await fixture.sql(site, "SELECT min(txid)::text, max(txid)::text FROM omnisync.outbox")
                state.append("\(site): acks \(acks) cursors \(cursors) outbox txids \(txids)")
            }
            let log = daemon.stderr.split(separator: "\n").filter { $0.contains("prune") || $0.contains("level=warning") || $0.contains("level=error") }
            XCTFail(
                "outboxes not pruned after \(pruned): \(zip(fixture.siteNames, outboxes).map { "\($0)=\($1)" })\n"
                    + state.joined(separator: "\n") + "\n" + log.suffix(30).joined(separator: "\n"))
        }
        print(
            "backlog: \(backlog) outbox records written by \(written), delivered by \(delivered), pruned by \(pruned); "
                + "daemon peak memory (VmHWM) \(peak / 1024 / 1024) MB, limit \(Self.peakMemoryLimitBytes / 1024 / 1024) MB")
        XCTAssertLessThan(peak, Self.peakMemoryLimitBytes, "daemon peak resident memory")
        await fixture.waitForConvergence(timeout: 30)
    }

    /// A window whose last page is exactly full is closed by an empty page; the cursor stored at
    /// the target must say so, or the source's outbox is never pruned below it while the source
    /// stays quiet.
    func testOutboxIsPrunedAfterABacklogOfWholePages() async throws {
        let fixture: SyncFixture = self.fixture
        let engine = fixture.makeEngine(batchSize: 10)
        await engine.syncOnce()
        try await fixture.sql("store-a", "INSERT INTO retail.stock SELECT 'page-' || g, 'store-a', 5, 0 FROM generate_series(1, 20) AS g")
        await engine.syncOnce()
        for site in fixture.siteNames {
            let count = try await fixture.value(site, "SELECT count(*) FROM retail.stock")
            XCTAssertEqual(count, "20", "delivered to \(site)")
        }
        await engine.pruneOutboxes()
        await engine.pruneOutboxes()
        let left = try await fixture.value("store-a", "SELECT count(*) FROM omnisync.outbox")
        let cursors = try await fixture.sql("web", "SELECT done_snapshot::text, window_snapshot::text FROM omnisync.cursors WHERE source_site = 'store-a'")
        await engine.shutdown()
        XCTAssertEqual(left, "0", "every site has all 20 records; cursor at web: \(cursors)")
    }

    /// VmHWM of a process, in bytes.
    static func peakResidentBytes(pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: "/proc/\(pid)/status"])
        }
        return kilobytes * 1024
    }

}
