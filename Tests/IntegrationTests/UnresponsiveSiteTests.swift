import Foundation
import SyncEngine
import TestSupport
import XCTest

/// Guarantee 12 (CONTRACT §9): a site whose address takes connections but never answers (a dead
/// link, a hung server) slows nothing else. The one-shot commands answer within 10 s naming it
/// unreachable, the daemon keeps syncing the other sites, and SIGTERM exits within 10 s. Each
/// is checked against both kinds of silence: a port that never accepts, and one that accepts
/// and never writes.
final class UnresponsiveSiteTests: XCTestCase {
    var fixture: SyncFixture!
    var server: BlackholeServer!

    /// What the requirement allows; the expected value is about half of it.
    private let bound: Duration = .seconds(10)

    override func tearDown() async throws {
        await fixture?.tearDown()
        server = nil
    }

    /// The fixture's three sites plus `store-silent` at the blackholed address.
    private func configuration(_ mode: BlackholeServer.Mode) async throws -> String {
        fixture = try await SyncFixture.make()
        server = try BlackholeServer(mode)
        let sites = fixture.siteNames.map { ($0, fixture.conninfo($0)) } + [("store-silent", server.conninfo)]
        return try fixture.writeConfig(named: "silent.conf", sites: sites)
    }

    private func timed(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String, elapsed: Duration) {
        let started = ContinuousClock.now
        let result = try SyncFixture.omnisync(arguments)
        return (result.status, result.stdout, result.stderr, ContinuousClock.now - started)
    }

    // MARK: - One-shot commands

    private func checkStatus(_ mode: BlackholeServer.Mode) async throws {
        let config = try await configuration(mode)
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('s', 'store-a', 1, 0)")
        let text = try timed(["status", "-c", config])
        XCTAssertEqual(text.status, 0, "other sites are reachable: \(text.stderr)")
        XCTAssertLessThan(text.elapsed, bound)
        XCTAssertTrue(text.stdout.contains("site store-silent: unreachable ("), text.stdout)
        XCTAssertTrue(text.stdout.contains("site store-a: reachable"), text.stdout)
        XCTAssertTrue(text.stdout.contains("to web: 1 undelivered"), "the others are measured as usual:\n\(text.stdout)")

        let json = try timed(["status", "-c", config, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertLessThan(json.elapsed, bound)
        let object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], json.stdout)
        let sites = try XCTUnwrap(object["sites"] as? [[String: Any]])
        let silent = try XCTUnwrap(sites.first { $0["site"] as? String == "store-silent" })
        XCTAssertEqual(silent["reachable"] as? Bool, false)
        XCTAssertEqual(sites.filter { $0["reachable"] as? Bool == true }.count, 3)
    }

    func testStatusAnswersWithinTenSecondsWhenASiteNeverAccepts() async throws {
        try await checkStatus(.listening)
    }

    func testStatusAnswersWithinTenSecondsWhenASiteAcceptsAndStaysSilent() async throws {
        try await checkStatus(.accepting)
        XCTAssertGreaterThan(server.acceptedCount, 0, "the silent site did take the connections")
    }

    private func checkVerify(_ mode: BlackholeServer.Mode) async throws {
        let config = try await configuration(mode)
        let result = try timed(["verify", "-c", config])
        XCTAssertEqual(result.status, 69, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        XCTAssertLessThan(result.elapsed, bound)
        XCTAssertTrue(result.stdout.contains("unreachable: store-silent: "), result.stdout)
        XCTAssertTrue(result.stderr.contains("omnisync: site store-silent: "), result.stderr)
        XCTAssertFalse(result.stdout.contains("unreachable: web") || result.stdout.contains("unreachable: store-a"), result.stdout)
    }

    func testVerifyExits69WithinTenSecondsWhenASiteNeverAccepts() async throws {
        try await checkVerify(.listening)
    }

    func testVerifyExits69WithinTenSecondsWhenASiteAcceptsAndStaysSilent() async throws {
        try await checkVerify(.accepting)
    }

    private func checkConflicts(_ mode: BlackholeServer.Mode) async throws {
        let config = try await configuration(mode)
        let result = try timed(["conflicts", "-c", config, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertLessThan(result.elapsed, bound)
        XCTAssertEqual(result.stdout, "", "no conflicts, and nothing else on stdout")
        XCTAssertTrue(
            result.stderr.contains("omnisync: site store-silent: ") && result.stderr.contains(" unreachable"), result.stderr)
        XCTAssertFalse(result.stderr.contains("site web"), result.stderr)
    }

    func testConflictsAnswersWithinTenSecondsWhenASiteNeverAccepts() async throws {
        try await checkConflicts(.listening)
    }

    func testConflictsAnswersWithinTenSecondsWhenASiteAcceptsAndStaysSilent() async throws {
        try await checkConflicts(.accepting)
    }

    /// A smaller `connect_timeout` of the operator's own is honoured.
    /// `check` reads every site's catalog: a silent site is reported unreachable (69) within the
    /// bound, and the others are still checked.
    private func checkCheck(_ mode: BlackholeServer.Mode) async throws {
        let sitesConfig = try await configuration(mode)
        let text = try String(contentsOfFile: sitesConfig, encoding: .utf8)
        let config = try fixture.writeFile("silent-check.conf", text + "\n[table pos.inventory]\nkey = id\n")
        let result = try timed(["check", "-c", config])
        XCTAssertEqual(result.status, 78, "the others lack the table, a fatal problem: \(result.stdout)\n\(result.stderr)")
        XCTAssertLessThan(result.elapsed, bound)
        XCTAssertTrue(result.stderr.contains("omnisync: site store-silent unreachable"), result.stderr)
        XCTAssertTrue(result.stdout.contains("at 3 site(s)"), "the three answering sites were checked: \(result.stdout)")
    }

    func testCheckAnswersWithinTenSecondsWhenASiteNeverAccepts() async throws {
        try await checkCheck(.listening)
    }

    func testCheckAnswersWithinTenSecondsWhenASiteAcceptsAndStaysSilent() async throws {
        try await checkCheck(.accepting)
    }

    func testASmallerConnectTimeoutInTheConninfoIsHonoured() async throws {
        fixture = try await SyncFixture.make()
        server = try BlackholeServer(.accepting)
        let sites = fixture.siteNames.map { ($0, fixture.conninfo($0)) } + [("store-silent", server.conninfo + " connect_timeout=2")]
        let config = try fixture.writeConfig(named: "short.conf", sites: sites)
        let result = try timed(["status", "-c", config])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("site store-silent: unreachable ("), result.stdout)
        XCTAssertLessThan(result.elapsed, .seconds(4), "2 s, not the default limit")
    }

    // MARK: - The daemon

    private func checkDaemon(_ mode: BlackholeServer.Mode) async throws {
        let config = try await configuration(mode)
        for sku in ["a", "b"] {
            try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ($1, 'store-a', 100, 0)", [sku])
        }
        let daemon = try fixture.startDaemon(configPath: config)
        XCTAssertTrue(daemon.isRunning, daemon.stderr)
        // Over several of the silent site's connect attempts (one per poll interval and link),
        // each sale at one site reaches the two others within a few seconds.
        for round in 1...4 {
            let site = round % 2 == 0 ? "web" : "store-a"
            try await fixture.sql(site, "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'a'")
            let expected = Int64(100 - round)
            let started = ContinuousClock.now
            try await eventually(timeout: 5, "sale \(round) at \(site) reaches every other site") {
                for other in fixture.siteNames where try await fixture.onHand(other, sku: "a", location: "store-a") != expected {
                    return false
                }
                return true
            }
            // Keep the pace of a till, not of a benchmark: the silent site's attempts go on meanwhile.
            try await Task.sleep(until: started + .seconds(2), clock: .continuous)
        }
        XCTAssertTrue(
            daemon.stderr.contains("msg=\"site unreachable\" site=store-silent"), "logged once:\n\(daemon.stderr.suffix(3000))")
        // A change that sends no notification waits for its site's safety poll (every 500 ms
        // here), which the silent site's own probes must not hold up.
        try await fixture.sql(
            "store-b", "WITH quiet AS (SELECT set_config('omnisync.notify', 'off', true)) "
                + "UPDATE retail.stock SET on_hand = on_hand - 10 FROM quiet WHERE sku = 'b'")
        try await eventually(timeout: 5, "a change without notification arrives by the safety poll") {
            for other in fixture.siteNames where try await fixture.onHand(other, sku: "b", location: "store-a") != 90 {
                return false
            }
            return true
        }

        let stopping = ContinuousClock.now
        daemon.signal(SIGTERM)
        let termination = try daemon.wait(timeout: 20)
        let elapsed = ContinuousClock.now - stopping
        XCTAssertEqual(termination, .exited(0), daemon.stderr.suffix(3000).description)
        XCTAssertLessThan(elapsed, bound, "SIGTERM exits promptly:\n\(daemon.stderr.suffix(3000))")
        XCTAssertTrue(daemon.stderr.contains("omnisync stopped"), daemon.stderr)
        // The other sites hold the same state (verify without the silent site).
        await fixture.waitForConvergence(timeout: 10)
    }

    func testDaemonKeepsSyncingTheOthersAndStopsPromptlyWhenASiteNeverAccepts() async throws {
        try await checkDaemon(.listening)
    }

    func testDaemonKeepsSyncingTheOthersAndStopsPromptlyWhenASiteAcceptsAndStaysSilent() async throws {
        try await checkDaemon(.accepting)
    }

    /// SIGTERM right after start, while every connection to the silent site is still being attempted.
    func testDaemonStopsPromptlyWhileConnectingToASilentSite() async throws {
        let config = try await configuration(.accepting)
        guard let binary = TestClusters.binaryPath else { throw XCTSkip("OMNISYNC_BIN is not set") }
        let daemon = try Subprocess(binary, arguments: ["run", "-c", config], environment: ProcessInfo.processInfo.environment)
        let deadline = Date().addingTimeInterval(5)
        while !daemon.stderr.contains("msg=\"site connected\"") && daemon.isRunning && Date() < deadline {
            usleep(20_000)
        }
        XCTAssertFalse(daemon.stderr.contains("site=store-silent"), "still connecting to the silent site")
        let stopping = ContinuousClock.now
        daemon.signal(SIGTERM)
        let termination = try daemon.wait(timeout: 20)
        XCTAssertEqual(termination, .exited(0), daemon.stderr.suffix(3000).description)
        XCTAssertLessThan(ContinuousClock.now - stopping, bound, "a connect under way is abandoned:\n\(daemon.stderr)")
    }
}
