import Foundation
import SyncEngine
import TestSupport
import XCTest

/// Guarantee 8 (CONTRACT §9): daemons with the same configuration split the links between them
/// through advisory locks in the targets' databases; when one dies, the others take its links
/// over within 15 s, with nothing lost or counted twice.
final class SharedWorkTests: XCTestCase {
    var fixture: SyncFixture!
    var daemons: [Subprocess] = []

    /// Four sites: twelve links, so that three daemons all but surely split them.
    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a", "store-b", "store-c"], pollIntervalMs: 300)
    }

    override func tearDown() async throws {
        for daemon in daemons where daemon.isRunning { daemon.signal(SIGKILL) }
        await fixture?.tearDown()
    }

    /// Each link (`source>target`) and the daemon `status --json` says applies it (nil: none).
    private func linkDaemons() throws -> [String: String?] {
        let run = try SyncFixture.omnisync(["status", "--json", "-c", fixture.configPath])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        var links: [String: String?] = [:]
        for site in object?["sites"] as? [[String: Any]] ?? [] {
            for peer in site["peers"] as? [[String: Any]] ?? [] {
                links["\(site["site"] as? String ?? "?")>\(peer["peer"] as? String ?? "?")"] = peer["daemon"] as? String
            }
        }
        return links
    }

    private func pid(_ daemon: String?) -> pid_t? {
        daemon.flatMap { $0.split(separator: ":").last.flatMap { pid_t($0) } }
    }

    func testThreeDaemonsSplitTheLinksAndTakeOverAKilledOnesDuringABurst() async throws {
        let fixture: SyncFixture = self.fixture
        for site in fixture.siteNames {
            try await fixture.sql(site, "INSERT INTO retail.stock VALUES ('shared', $1, 10000, 0)", [site])
        }
        for _ in 0..<3 { daemons.append(try fixture.startDaemon()) }
        let pids = Set(daemons.map(\.pid))
        var owners: [String: String?] = [:]
        try await eventually("every link applied by one of the three daemons") {
            owners = try linkDaemons()
            return owners.count == 12 && owners.values.allSatisfy { pid($0).map(pids.contains) ?? false }
        }
        // The first daemon up takes every link; the others get their shares within a few looks.
        try await eventually(timeout: 40, "the links split between the daemons") {
            owners = try linkDaemons()
            let holders = Set(owners.values.compactMap { pid($0) })
            return owners.count == 12 && holders.count >= 2 && holders.isSubset(of: pids) && owners.values.allSatisfy { $0 != nil }
        }
        let shares = Dictionary(grouping: owners.keys, by: { pid(owners[$0] ?? nil) ?? 0 })
        if shares.count < 2 {
            // What each daemon decided, to tell a slow split from one that never comes.
            print("links by daemon: \(owners)")
            for daemon in daemons { print("daemon \(daemon.pid):\n\(daemon.stderr.suffix(4000))") }
        }

        // A burst of sales at every store and the web, during which the busiest daemon is killed.
        let sales = 400
        let burst = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for site in fixture.siteNames {
                    group.addTask {
                        try await fixture.repeatStatement(
                            site, "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'shared' AND location = $1",
                            [site], count: sales)
                    }
                }
                try await group.waitForAll()
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let busiest = try XCTUnwrap(shares.max { $0.value.count < $1.value.count }?.key)
        let victim = try XCTUnwrap(daemons.first { $0.pid == busiest })
        victim.signal(SIGKILL)
        _ = try victim.wait(timeout: 10)
        let killed = ContinuousClock.now
        let survivors = pids.subtracting([busiest])
        try await eventually(timeout: 15, "the killed daemon's links taken over within 15 s") {
            let now = try linkDaemons()
            return now.count == 12 && now.values.allSatisfy { pid($0).map(survivors.contains) ?? false }
        }
        let takeOver = ContinuousClock.now - killed
        try await burst.value

        try await eventually(timeout: 30, "every sale everywhere, once") {
            for site in fixture.siteNames {
                for location in fixture.siteNames
                where try await fixture.onHand(site, sku: "shared", location: location) != Int64(10000 - sales) {
                    return false
                }
            }
            return true
        }
        await fixture.waitForConvergence(timeout: 20)
        for daemon in daemons where daemon.pid != busiest {
            daemon.signal(SIGTERM)
            XCTAssertEqual(try daemon.wait(timeout: 20), .exited(0), daemon.stderr.suffix(2000).description)
        }
        XCTAssertTrue(
            daemons.contains { $0.pid != busiest && $0.stderr.contains("links taken") }, "a survivor logged the links it took over")
        print("shared work: links taken over \(takeOver) after kill -9")
        for site in fixture.siteNames {
            for location in fixture.siteNames {
                let value = try await fixture.onHand(site, sku: "shared", location: location)
                XCTAssertEqual(value, Int64(10000 - sales), "\(location) at \(site): nothing lost or counted twice")
            }
        }
        // Stopped daemons hold no link.
        XCTAssertTrue(try linkDaemons().values.allSatisfy { $0 == nil }, "no daemon named once all stopped")
    }
}
