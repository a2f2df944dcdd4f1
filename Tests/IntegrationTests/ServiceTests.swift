import DaemonKit
import Foundation
import MergeCore
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// `omnisync run` as systemd and an operator see it: the notify protocol, reloads, logs,
/// `status`, the metrics file and the least-privilege role. Every test runs the built binary.
final class ServiceTests: XCTestCase {
    var fixture: SyncFixture!

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    override func setUp() async throws {
        fixture = try await SyncFixture.make(pollIntervalMs: 300)
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    // MARK: - sd_notify

    func testNotifyReadyStatusWatchdogReloadAndStopping() async throws {
        let notify = try NotifySocket()
        let daemon = try fixture.startDaemon(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])

        XCTAssertNotNil(notify.next("READY=1"), "no READY=1; stderr:\n\(daemon.stderr)")
        // READY=1 waits until every reachable site is connected: the STATUS= that follows counts them.
        let status = notify.next(timeout: 5) { $0.hasPrefix("STATUS=") }
        XCTAssertTrue(status?.hasPrefix("STATUS=sites up 3/3, backlog 0, oldest undelivered ") == true, "\(status ?? "none")")
        XCTAssertNotNil(notify.next("WATCHDOG=1", timeout: 5), "no WATCHDOG=1 with WATCHDOG_USEC set")

        daemon.signal(SIGHUP)
        let reloading = notify.next("RELOADING=1")
        XCTAssertNotNil(reloading, "no RELOADING=1 after SIGHUP; stderr:\n\(daemon.stderr)")
        XCTAssertTrue(reloading?.contains("\nMONOTONIC_USEC=") == true, "\(reloading ?? "none")")
        XCTAssertNotNil(notify.next("READY=1"), "no READY=1 after the reload")

        daemon.signal(SIGTERM)
        XCTAssertNotNil(notify.next("STOPPING=1"), "no STOPPING=1 after SIGTERM")
        try assertStopped(daemon)
    }

    func testNoWatchdogPingsWithoutWatchdogUsec() async throws {
        let notify = try NotifySocket()
        let daemon = try fixture.startDaemon(environment: ["NOTIFY_SOCKET": notify.path])
        XCTAssertNotNil(notify.next("READY=1"))
        daemon.signal(SIGTERM)
        XCTAssertNotNil(notify.next("STOPPING=1"))
        try assertStopped(daemon)
        XCTAssertFalse(notify.received.contains("WATCHDOG=1"), "\(notify.received)")
    }

    /// A second SIGTERM while the first is still finishing the batches under way ends the process
    /// at once, exit 0 (every apply is idempotent), without waiting for them. The first stop is
    /// kept busy by a server that has stopped answering mid-apply (SIGSTOP): alone, it would give
    /// that statement its shutdown grace.
    func testASecondStopSignalExitsAtOnceWhileTheFirstIsFinishing() async throws {
        let notify = try NotifySocket()
        let daemon = try fixture.startDaemon(environment: ["NOTIFY_SOCKET": notify.path])
        XCTAssertNotNil(notify.next("READY=1"), "no READY=1; stderr:\n\(daemon.stderr)")
        let silent = try serverProcesses(of: "store-b")
        XCTAssertEqual(try Subprocess.run("/bin/kill", arguments: ["-STOP"] + silent, timeout: 10).termination, .exited(0))
        defer { _ = try? Subprocess.run("/bin/kill", arguments: ["-CONT"] + silent, timeout: 10) }
        // A sale at web: its delivery to store-b starts, and hangs there.
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('second-stop', 'web', 5, 0)")
        try await Task.sleep(for: .seconds(1))

        daemon.signal(SIGTERM)
        XCTAssertNotNil(notify.next("STOPPING=1"), "no STOPPING=1 after SIGTERM")
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertTrue(daemon.isRunning, "the first stop waits for the hung statement:\n\(daemon.stderr.suffix(3000))")
        let second = ContinuousClock.now
        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.wait(timeout: 20), .exited(0), daemon.stderr.suffix(3000).description)
        XCTAssertLessThan(ContinuousClock.now - second, .seconds(2), "the second signal exits at once")
        XCTAssertTrue(daemon.stderr.contains("second stop signal, exiting now"), daemon.stderr.suffix(3000).description)
        XCTAssertFalse(daemon.stderr.contains("omnisync stopped"), "abandoned, not finished:\n\(daemon.stderr.suffix(3000))")
    }

    /// The postmaster of `site`'s cluster and its children.
    private func serverProcesses(of site: String) throws -> [String] {
        guard let directory = fixture.clusters.clusterDirectory else { throw XCTSkip("no cluster directory") }
        let pid = try String(contentsOfFile: "\(directory)/\(fixture.cluster(of: site))/postmaster.pid", encoding: .utf8)
            .split(separator: "\n").first.map(String.init) ?? ""
        let children = try Subprocess.run("/usr/bin/pgrep", arguments: ["-P", pid], timeout: 10).stdout
            .split(separator: "\n").map(String.init)
        return [pid] + children
    }

    // MARK: - Reload

    func testSighupAddingAThirdSiteSyncsItWithoutRestart() async throws {
        let twoSites = SyncFixture.configText(
            sites: ["web", "store-a"], conninfos: [fixture.conninfo("web"), fixture.conninfo("store-a")], pollIntervalMs: 300)
        let path = try fixture.writeFile("two-sites.conf", twoSites)
        let notify = try NotifySocket()
        let daemon = try fixture.startDaemon(configPath: path, environment: ["NOTIFY_SOCKET": notify.path])
        XCTAssertNotNil(notify.next("READY=1"))

        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('early', 'web', 7, 0)")
        try await fixture.sql("store-b", "INSERT INTO retail.stock VALUES ('local-b', 'store-b', 3, 0)")
        try await eventually("web's row at store-a") { try await fixture.onHand("store-a", sku: "early", location: "web") == 7 }
        let atStoreB = try await fixture.onHand("store-b", sku: "early", location: "web")
        XCTAssertNil(atStoreB, "store-b is not configured yet")

        let threeSites = SyncFixture.configText(
            sites: fixture.siteNames, conninfos: fixture.siteNames.map(fixture.conninfo), pollIntervalMs: 300)
        _ = try fixture.writeFile("two-sites.conf", threeSites)
        daemon.signal(SIGHUP)
        XCTAssertNotNil(notify.next("RELOADING=1"))
        XCTAssertNotNil(notify.next("READY=1"), "no READY=1 after adding a site; stderr:\n\(daemon.stderr)")
        let status = notify.next(timeout: 5) { $0.hasPrefix("STATUS=") }
        XCTAssertTrue(status?.hasPrefix("STATUS=sites up 3/3") == true, "\(status ?? "none")")

        // The new site receives what existed before it joined, and gives what it had.
        try await eventually("existing data at the new site") {
            try await fixture.onHand("store-b", sku: "early", location: "web") == 7
        }
        try await eventually("the new site's data elsewhere") {
            try await fixture.onHand("web", sku: "local-b", location: "store-b") == 3
        }
        // New writes flow both ways.
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'early'")
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'early'")
        try await eventually("new writes everywhere") {
            var all = true
            for site in fixture.siteNames where try await fixture.onHand(site, sku: "early", location: "web") != 4 { all = false }
            return all
        }
        await fixture.waitForConvergence(timeout: 10)

        XCTAssertTrue(daemon.isRunning, "the daemon restarted or died")
        let lines = try parsedLines(daemon.stderr, format: .logfmt)
        let reloaded = lines.first { $0["msg"] == "configuration reloaded" }
        XCTAssertEqual(reloaded?["changed"], "[site store-b]")
        XCTAssertEqual(reloaded?["reconnect"], "true")
        XCTAssertTrue(lines.contains { $0["msg"] == "configuration applied" && $0["sites_up"] == "3" })
        XCTAssertEqual(lines.filter { $0["msg"] == "omnisync starting" }.count, 1)
        try stop(daemon)
    }

    // MARK: - Logs

    func testLogLinesParseInBothFormatsCarryJournalPrioritiesAndNameTheirSite() async throws {
        let jsonConfig = SyncFixture.configText(
            sites: fixture.siteNames, conninfos: fixture.siteNames.map(fixture.conninfo), pollIntervalMs: 300
        ).replacingOccurrences(of: "[daemon]\n", with: "[daemon]\nlog_format = json\n")
        let path = try fixture.writeFile("json.conf", jsonConfig)
        let daemon = try fixture.startDaemon(configPath: path, environment: ["JOURNAL_STREAM": "8:4242"])
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('logged', 'web', 5, 0)")
        try await eventually("first change delivered") { try await fixture.onHand("store-b", sku: "logged", location: "web") == 5 }

        let logfmtConfig = jsonConfig.replacingOccurrences(of: "log_format = json\n", with: "log_format = logfmt\n")
        _ = try fixture.writeFile("json.conf", logfmtConfig)
        daemon.signal(SIGHUP)
        try await eventually("reload logged") { daemon.stderr.contains("msg=\"configuration reloaded\"") }
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'logged'")
        try await eventually("second change delivered") { try await fixture.onHand("web", sku: "logged", location: "web") == 4 }
        try stop(daemon)

        let priorities: [String: String] = ["debug": "7", "info": "6", "notice": "5", "warning": "4", "error": "3"]
        // Lines about the whole process; every other line names the site it is about.
        let processWide: Set<String> = [
            "omnisync starting", "omnisync ready", "configuration reloaded", "configuration not reloaded",
            "configuration applied", "stopping", "second stop signal, exiting now", "omnisync stopped", "stats",
        ]
        var formats: [LogFormat] = []
        var messages: [String] = []
        for line in daemon.stderr.split(separator: "\n").map(String.init) {
            let prefix = line.prefix(3)
            XCTAssertTrue(prefix.hasPrefix("<") && prefix.hasSuffix(">"), "no journald priority: \(line)")
            let body = String(line.dropFirst(3))
            let format: LogFormat = body.hasPrefix("{") ? .json : .logfmt
            guard let fields = LogLineParser.parse(body, format: format) else {
                XCTFail("not a well-formed \(format) line: \(line)")
                continue
            }
            var values: [String: String] = [:]
            for field in fields { values[field.key] = "\(field.value)" }
            if formats.last != format { formats.append(format) }
            XCTAssertEqual(fields.prefix(3).map(\.key), ["ts", "level", "msg"], line)
            let level = values["level"] ?? ""
            XCTAssertEqual(String(prefix.dropFirst().dropLast()), priorities[level], "priority of \(line)")
            let message = values["msg"] ?? ""
            messages.append(message)
            if !processWide.contains(message) {
                XCTAssertNotNil(values["site"], "line names no site: \(line)")
            }
            if message == "batch applied" {
                XCTAssertNotNil(values["peer"], "batch line names no peer: \(line)")
            }
        }
        XCTAssertEqual(formats, [.json, .logfmt], "json until the reload, logfmt after")
        for expected in ["omnisync starting", "site connected", "omnisync ready", "batch applied", "configuration reloaded", "omnisync stopped"] {
            XCTAssertTrue(messages.contains(expected), "no \"\(expected)\" line")
        }
    }

    /// Passwords in conninfos (key=value and URI forms, reachable or not) appear nowhere; an
    /// unreachable site is logged once per outage, and its return with the outage's length and
    /// failed attempts.
    func testPasswordsNeverAppearAndOutagesAreLoggedOnce() async throws {
        let secrets = ["Reachable-Secret-1", "Uri-Secret-2", "Late-Secret-3", "Gone-Secret-4", "Gone-Uri-Secret-5"]
        let clusters = fixture.clusters
        let lateCluster = 2 % clusters.count
        let lateName = "late_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let lateConninfo = clusters.adminConninfo(lateCluster) + " dbname=\(lateName)"
        var stagingConninfo: String?
        defer {
            clusters.dropDatabase(lateConninfo)
            if let stagingConninfo { clusters.dropDatabase(stagingConninfo) }
        }

        let storeA = try ConnInfoParts(fixture.conninfo("store-a"))
        let sites: [(String, String)] = [
            ("web", fixture.conninfo("web") + " password=\(secrets[0])"),
            ("store-a", storeA.uri(password: secrets[1])),
            ("late", lateConninfo + " password=\(secrets[2])"),
            ("gone", "host=127.0.0.1 port=1 user=omnisync password=\(secrets[3]) dbname=pos connect_timeout=2"),
            ("gone-uri", "postgresql://omnisync:\(secrets[4])@127.0.0.1:1/pos?connect_timeout=2"),
        ]
        let path = try fixture.writeFile(
            "secrets.conf", SyncFixture.configText(sites: sites.map(\.0), conninfos: sites.map(\.1), pollIntervalMs: 300))

        let started = Date()
        let daemon = try fixture.startDaemon(configPath: path)
        XCTAssertTrue(daemon.stderr.contains("omnisync ready"), "not ready; stderr:\n\(daemon.stderr)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "unreachable sites held up readiness")
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('secret', 'web', 9, 0)")
        try await eventually("delivered between the reachable sites") {
            try await fixture.onHand("store-a", sku: "secret", location: "web") == 9
        }

        // The late site's database appears, already migrated under its name (created under
        // another name first, so that the daemon never sees it half-made).
        let staging = try clusters.createDatabase(cluster: lateCluster, prefix: "staging")
        stagingConninfo = staging
        let stagingName = try XCTUnwrap(staging.split(separator: "=").last.map(String.init))
        let stagingConfig = try fixture.writeFile(
            "staging.conf", SyncFixture.configText(sites: ["late", "web"], conninfos: [staging, fixture.conninfo("web")]))
        let migrated = await Migrator(configuration: try Configuration.load(path: stagingConfig), logger: fixture.logger)
            .migrate(siteName: "late")
        guard migrated.count == 1, case .migrated = migrated[0].outcome else {
            return XCTFail("migrate late: \(migrated)")
        }
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(lateCluster))
        try admin.query("ALTER DATABASE \(stagingName) RENAME TO \(lateName)", label: "rename staging database")
        admin.close()
        stagingConninfo = nil
        let late = PostgresSession(conninfo: lateConninfo, label: "test/late")
        try await eventually("the late site catches up") {
            let value = try? await late.withConnection {
                try $0.query("SELECT on_hand FROM retail.stock WHERE sku = 'secret'", label: "read late").rows.first?[0]
            }
            return value == "9"
        }
        await late.disconnect()
        try stop(daemon)

        let lines = try parsedLines(daemon.stderr, format: .logfmt)
        for site in ["late", "gone", "gone-uri"] {
            XCTAssertEqual(
                lines.filter { $0["msg"] == "site unreachable" && $0["site"] == site }.count, 1,
                "\(site): one warning per outage")
        }
        let back = lines.first { $0["msg"] == "site reachable again" && $0["site"] == "late" }
        XCTAssertNotNil(back, "no recovery line for late")
        XCTAssertGreaterThanOrEqual(Int(back?["failed_attempts"] ?? "") ?? 0, 1)
        XCTAssertGreaterThan(Double(back?["down_s"] ?? "") ?? 0, 0)

        var outputs = [("daemon stderr", daemon.stderr)]
        for arguments in [["status"], ["status", "--json"], ["verify"], ["conflicts"], ["conflicts", "--json"]] {
            let run = try omnisync(arguments + ["-c", path])
            outputs.append(("omnisync \(arguments.joined(separator: " ")) stdout", run.stdout))
            outputs.append(("omnisync \(arguments.joined(separator: " ")) stderr", run.stderr))
            if arguments.first == "status" {
                XCTAssertEqual(run.termination, .exited(0), "status with reachable sites: \(run.stderr)")
            }
        }
        let status = try omnisync(["status", "-c", path]).stdout
        XCTAssertTrue(status.contains("site gone: unreachable"), status)
        XCTAssertTrue(status.contains("site late: reachable"), status)
        for (name, text) in outputs {
            for secret in secrets {
                XCTAssertFalse(text.contains(secret), "\(name) shows a password:\n\(text)")
            }
        }
    }

    // MARK: - status

    func testStatusJSONWithTheDaemonStoppedReportsTheExactBacklog() async throws {
        // Never synced: the whole outbox of a site is owed to each peer.
        for sku in ["a", "b", "c"] {
            try await fixture.sql("web", "INSERT INTO retail.stock VALUES ($1, 'web', 1, 0)", [sku])
        }
        var report = try statusJSON()
        XCTAssertEqual(report.undelivered(from: "web"), ["store-a": 3, "store-b": 3])
        XCTAssertEqual(report.undelivered(from: "store-a"), ["web": 0, "store-b": 0])
        XCTAssertGreaterThan(report.oldestAge(from: "web", to: "store-a") ?? -1, 0)
        XCTAssertNil(report.oldestAge(from: "store-a", to: "web"))

        await fixture.syncOnce()
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'a'")
        try await fixture.sql("store-b", "INSERT INTO retail.cart_items VALUES ('cart-1', 'a', 1)")
        report = try statusJSON()
        XCTAssertEqual(report.undelivered(from: "web"), ["store-a": 0, "store-b": 0])
        XCTAssertEqual(report.undelivered(from: "store-a"), ["web": 0, "store-b": 0])
        XCTAssertEqual(report.undelivered(from: "store-b"), ["web": 2, "store-a": 2])
        for site in report.sites {
            XCTAssertEqual(site["reachable"] as? Bool, true)
            XCTAssertEqual(site["schema_version"] as? Int, Migration.latestVersion)
            XCTAssertEqual(site["open_conflicts"] as? Int, 0)
        }
        let text = try omnisync(["status", "-c", fixture.configPath]).stdout
        XCTAssertTrue(text.contains("site store-b: reachable"), text)
        XCTAssertTrue(text.contains("  to web: 2 undelivered, oldest "), text)

        await fixture.syncOnce()
        report = try statusJSON()
        for site in fixture.siteNames {
            XCTAssertEqual(Set(report.undelivered(from: site).values), [0], "from \(site)")
        }
    }

    // MARK: - Metrics

    func testMetricsFileMatchesAKnownWorkload() async throws {
        await fixture.syncOnce()  // cursors exist: the daemon delivers changes, not a first copy
        let metricsPath = (fixture.configPath as NSString).deletingLastPathComponent + "/omnisync.prom"
        let config = SyncFixture.configText(
            sites: fixture.siteNames, conninfos: fixture.siteNames.map(fixture.conninfo), pollIntervalMs: 300
        ).replacingOccurrences(of: "[daemon]\n", with: "[daemon]\nmetrics_file = \(metricsPath)\n")
        let daemon = try fixture.startDaemon(configPath: try fixture.writeFile("metrics.conf", config))
        try await eventually("metrics file written at start") { FileManager.default.fileExists(atPath: metricsPath) }

        // Six changes at web, each its own transaction; then store-a sells more than there is.
        for index in 1...5 {
            try await fixture.sql("web", "INSERT INTO retail.stock VALUES ($1, 'web', 10, 0)", ["m-\(index)"])
        }
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('over', 'web', 1, 0)")
        try await eventually("web's changes everywhere") {
            let atStoreA = try await fixture.onHand("store-a", sku: "over", location: "web")
            let atStoreB = try await fixture.onHand("store-b", sku: "over", location: "web")
            return atStoreA == 1 && atStoreB == 1
        }
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'over'")
        await fixture.waitForConvergence(timeout: 10)
        try stop(daemon)  // writes the file one last time, after everything was applied

        let text = try String(contentsOfFile: metricsPath, encoding: .utf8)
        let samples = try PrometheusSamples(text)
        let applied: [String: Double] = [
            "store-a<web": 6, "store-b<web": 6, "web<store-a": 1, "store-b<store-a": 1, "web<store-b": 0, "store-a<store-b": 0,
        ]
        for (pair, expected) in applied {
            let sites = pair.split(separator: "<").map(String.init)
            XCTAssertEqual(
                samples.value("omnisync_changes_applied_total", ["site": sites[0], "peer": sites[1]]), expected,
                "changes of \(sites[1]) applied at \(sites[0])\n\(text)")
            XCTAssertEqual(samples.value("omnisync_backlog_changes", ["site": sites[1], "peer": sites[0]]), 0)
            XCTAssertEqual(samples.value("omnisync_lag_seconds", ["site": sites[1], "peer": sites[0]]), 0)
            if expected > 0 {
                XCTAssertGreaterThanOrEqual(
                    samples.value("omnisync_apply_batches_total", ["site": sites[0], "peer": sites[1]]) ?? 0, 1)
                XCTAssertGreaterThan(samples.value("omnisync_apply_seconds_total", ["site": sites[0], "peer": sites[1]]) ?? 0, 0)
            }
        }
        // Conflicts by site and kind are exactly those the daemon recorded in each site's table.
        var totalConflicts = 0.0
        for site in fixture.siteNames {
            XCTAssertEqual(samples.value("omnisync_site_up", ["site": site]), 1)
            XCTAssertEqual(samples.value("omnisync_reconnects_total", ["site": site]), 0)
            let recorded = try await fixture.sql(site, "SELECT kind, count(*)::text FROM omnisync.conflicts GROUP BY kind")
            let byKind = Dictionary(uniqueKeysWithValues: recorded.map { ($0[0] ?? "", Double($0[1] ?? "") ?? -1) })
            for kind in ConflictKind.allCases {
                let value = samples.value("omnisync_conflicts_total", ["site": site, "kind": kind.rawValue])
                XCTAssertEqual(value, byKind[kind.rawValue] ?? 0, "\(kind.rawValue) conflicts at \(site)")
                totalConflicts += value ?? 0
            }
        }
        XCTAssertEqual(samples.value("omnisync_conflicts_total", ["site": "web", "kind": "oversell"]), 1)
        XCTAssertGreaterThanOrEqual(totalConflicts, 1)
        XCTAssertEqual(samples.value("omnisync_skipped_changes_total", [:]), 0)
        // Only the low-cardinality labels.
        XCTAssertEqual(samples.labelNames.subtracting(["site", "peer", "kind"]), [])
        let mode = try FileManager.default.attributesOfItem(atPath: metricsPath)[.posixPermissions] as? Int
        XCTAssertEqual(mode.map { $0 & 0o044 }, 0o044, "node-exporter (another user) must be able to read it")
    }

    // MARK: - Least privilege

    func testDaemonRunsUnderTheLeastPrivilegeRole() async throws {
        let role = "omnisync_t\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let clusters = fixture.clusters
        defer {
            for cluster in Set(fixture.siteNames.map(fixture.cluster(of:))) {
                if let admin = try? PostgresConnection.connect(conninfo: clusters.adminConninfo(cluster)) {
                    // The site databases still hold grants to the role: drop them first.
                    for site in fixture.siteNames where fixture.cluster(of: site) == cluster {
                        clusters.dropDatabase(fixture.conninfo(site))
                    }
                    _ = try? admin.query("DROP ROLE IF EXISTS \(role)", label: "drop test role")
                    _ = try? admin.query("DROP ROLE IF EXISTS \(role)_app", label: "drop test application role")
                    admin.close()
                }
            }
        }
        let script = Self.repository.appendingPathComponent("schema/roles/omnisync_role.sql").path
        for site in fixture.siteNames {
            let run = try psql(fixture.conninfo(site), file: script, variables: ["role": role])
            XCTAssertEqual(run.termination, .exited(0), "role script at \(site): \(run.stderr)")
            // Idempotent: a second run (as after an upgrade) changes nothing and succeeds.
            XCTAssertEqual(try psql(fixture.conninfo(site), file: script, variables: ["role": role]).termination, .exited(0))
        }
        // It refuses a superuser.
        let refused = try psql(fixture.conninfo("web"), file: script, variables: ["role": "postgres"])
        XCTAssertNotEqual(refused.termination, .exited(0))
        XCTAssertTrue(refused.stderr.contains("superuser"), refused.stderr)

        let conninfos = fixture.siteNames.map { fixture.conninfo($0) + " user=\(role)" }
        let asRole = PostgresSession(conninfo: conninfos[0], label: "test/role")
        let identity = try await asRole.withConnection {
            try $0.query(
                "SELECT current_user, rolsuper::text, rolcreaterole::text, rolcreatedb::text FROM pg_roles WHERE rolname = current_user",
                label: "who am i"
            ).rows.first
        }
        XCTAssertEqual(identity, [role, "false", "false", "false"])
        // Every table of the schema is covered by the script (a migration adding one must extend it)...
        let uncovered = try await asRole.withConnection {
            try $0.query(
                """
                SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('retail', 'omnisync') AND c.relkind = 'r' AND NOT has_table_privilege(c.oid, 'SELECT')
                """, label: "tables without grants"
            ).rows.map { $0[0] ?? "" }
        }
        XCTAssertEqual(uncovered, [])
        // ...and it owns nothing and cannot change the schema or bypass the capture.
        for statement in [
            "CREATE TABLE omnisync.intruder (x int)", "CREATE TABLE retail.intruder (x int)",
            "DELETE FROM retail.stock", "TRUNCATE retail.orders", "DROP TRIGGER capture ON retail.stock",
            "UPDATE omnisync.outbox SET k1 = 'forged'", "UPDATE omnisync.site SET name = 'other'",
        ] {
            do {
                _ = try await asRole.withConnection { try $0.query(statement, label: "forbidden statement") }
                XCTFail("the daemon role may: \(statement)")
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, "42501", "\(statement): \(error)")
            }
        }
        await asRole.disconnect()

        // At web, the application writes under a role of its own, with application_role.sql's rights.
        let appRole = role + "_app"
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(fixture.cluster(of: "web")))
        try admin.query("CREATE ROLE \(appRole) LOGIN", label: "create application role")
        admin.close()
        let appScript = Self.repository.appendingPathComponent("schema/roles/application_role.sql").path
        let granted = try psql(fixture.conninfo("web"), file: appScript, variables: ["role": appRole])
        XCTAssertEqual(granted.termination, .exited(0), granted.stderr)
        let app = PostgresSession(conninfo: fixture.conninfo("web") + " user=\(appRole)", label: "test/app")
        func atWeb(_ statement: String) async throws {
            _ = try await app.withConnection { try $0.query(statement, label: "application statement") }
        }

        let path = try fixture.writeFile(
            "role.conf", SyncFixture.configText(sites: fixture.siteNames, conninfos: conninfos, pollIntervalMs: 300))
        let daemon = try fixture.startDaemon(configPath: path)
        try await atWeb("INSERT INTO retail.stock VALUES ('priv', 'web', 10, 0)")
        try await fixture.sql("store-a", "INSERT INTO retail.cart_items VALUES ('cart-p', 'priv', 2)")
        try await fixture.sql("store-b", "INSERT INTO retail.orders VALUES ('o-p', 'c-1', 'store', '2026-11-20 10:00:00+00')")
        try await fixture.sql("store-b", "INSERT INTO retail.order_lines VALUES ('o-p', 1, 'priv', 2)")
        try await eventually("cart item everywhere") {
            try await fixture.value("web", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'cart-p'") == "2"
        }
        try await eventually("stock row at store-a before its count") {
            try await fixture.onHand("store-a", sku: "priv", location: "web") == 10
        }
        try await atWeb("DELETE FROM retail.cart_items WHERE cart_id = 'cart-p'")
        try await fixture.sql("store-a", "INSERT INTO retail.returns VALUES ('r-p', 'o-p', 1, 1, 'store-a', now())")
        try await fixture.sql("store-a", "SELECT retail.record_count('priv', 'web', 8)")
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'priv'")
        // Two sales of one unit against a single unit: an oversell conflict is recorded by the role.
        try await atWeb("INSERT INTO retail.stock VALUES ('last-one', 'web', 1, 0)")
        try await eventually("last unit everywhere") { try await fixture.onHand("store-b", sku: "last-one", location: "web") == 1 }
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'last-one'")
        await fixture.waitForConvergence(timeout: 15)
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "priv", location: "web")
            XCTAssertEqual(onHand, 5, "at \(site)")
            let items = try await fixture.value(site, "SELECT count(*) FROM retail.cart_items")
            XCTAssertEqual(items, "0", "at \(site)")
        }
        let conflicts = try await fixture.value("web", "SELECT count(*) FROM omnisync.conflicts WHERE kind = 'oversell'")
        XCTAssertEqual(conflicts, "1")
        await app.disconnect()
        try stop(daemon)
        XCTAssertFalse(daemon.stderr.contains("permission denied"), daemon.stderr)
        XCTAssertFalse(daemon.stderr.contains("level=error"), daemon.stderr)
        // The operator's commands work under the role too.
        let status = try omnisync(["status", "-c", path])
        XCTAssertEqual(status.termination, .exited(0), status.stderr)
        XCTAssertEqual(try omnisync(["verify", "-c", path]).termination, .exited(0))

        // Loyalty points routed by location and customers by follow (CONTRACT §8), migrated so by
        // the owner: a store that writes a row outside its routes gets the rest of the row back,
        // through the outbox; a store that unfollows a customer loses the customer's row.
        let routing = "\n[table retail.loyalty]\nroute = location customer_id\n"
            + "[table retail.customers]\nroute = follow customer customer_id\n"
            + "[table retail.cart_items]\nroute = follow cart cart_id\n"
        let ownerPath = try fixture.writeFile(
            "owner.conf", SyncFixture.configText(sites: fixture.siteNames, conninfos: fixture.conninfos, siteKeys: ["web": "hub = yes"]) + routing)
        let migrated = try omnisync(["migrate", "-c", ownerPath])
        XCTAssertEqual(migrated.termination, .exited(0), migrated.stderr)
        let routedPath = try fixture.writeFile(
            "role-routed.conf",
            SyncFixture.configText(sites: fixture.siteNames, conninfos: conninfos, pollIntervalMs: 300, siteKeys: ["web": "hub = yes"])
                + routing)
        let routed = try fixture.startDaemon(configPath: routedPath)
        try await fixture.sql("store-a", "INSERT INTO retail.loyalty VALUES ('store-a', 100)")
        try await eventually("points routed to the hub") {
            try await fixture.value("web", "SELECT points FROM retail.loyalty WHERE customer_id = 'store-a'") == "100"
        }
        let notRouted = try await fixture.value("store-b", "SELECT count(*) FROM retail.loyalty")
        XCTAssertEqual(notRouted, "0", "store-b is not routed store-a's row")
        try await fixture.sql("store-b", "INSERT INTO retail.loyalty VALUES ('store-a', 5)")
        try await eventually("store-b's points everywhere the row is, and the rest of the row at store-b") {
            var points: [String?] = []
            for site in fixture.siteNames {
                points.append(try await fixture.value(site, "SELECT points FROM retail.loyalty WHERE customer_id = 'store-a'"))
            }
            return points == ["105", "105", "105"]
        }
        try await fixture.sql("web", "INSERT INTO retail.customers (customer_id, name) VALUES ('C-9', 'Ada')")
        try await fixture.sql("store-b", "SELECT omnisync.follow('customer', 'C-9')")
        try await eventually("the followed customer at store-b") {
            try await fixture.value("store-b", "SELECT name FROM retail.customers WHERE customer_id = 'C-9'") == "Ada"
        }
        try await fixture.sql("store-b", "SELECT omnisync.unfollow('customer', 'C-9')")
        try await eventually("the unfollowed customer gone from store-b") {
            let customers = try await fixture.value("store-b", "SELECT count(*) FROM retail.customers")
            let follows = try await fixture.value("store-b", "SELECT count(*) FROM omnisync.follows")
            return customers == "0" && follows == "0"
        }
        let kept = try await fixture.value("web", "SELECT name FROM retail.customers WHERE customer_id = 'C-9'")
        XCTAssertEqual(kept, "Ada", "an unfollow removes the row at that store only")
        // A phone cart followed at store-b's till and unfollowed once paid: its items go again.
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('K-9', 'shoe', 2)")
        try await fixture.sql("store-b", "SELECT omnisync.follow('cart', 'K-9')")
        try await eventually("the followed cart at store-b") {
            try await fixture.value("store-b", "SELECT quantity FROM retail.cart_items WHERE cart_id = 'K-9'") == "2"
        }
        try await fixture.sql("store-b", "SELECT omnisync.unfollow('cart', 'K-9')")
        try await eventually("the unfollowed cart gone from store-b") {
            try await fixture.value("store-b", "SELECT count(*) FROM retail.cart_items") == "0"
        }
        try stop(routed)
        XCTAssertFalse(routed.stderr.contains("permission denied"), routed.stderr)
        XCTAssertEqual(try omnisync(["verify", "-c", routedPath]).termination, .exited(0))
    }

    // MARK: - Helpers


    private func assertStopped(_ daemon: Subprocess, file: StaticString = #filePath, line: UInt = #line) throws {
        let termination = try daemon.wait(timeout: 20)
        XCTAssertEqual(termination, .exited(0), "daemon exit; stderr:\n\(daemon.stderr.suffix(3000))", file: file, line: line)
    }

    private func stop(_ daemon: Subprocess, file: StaticString = #filePath, line: UInt = #line) throws {
        daemon.signal(SIGTERM)
        try assertStopped(daemon, file: file, line: line)
    }

    private func omnisync(_ arguments: [String]) throws -> (termination: Subprocess.Termination, stdout: String, stderr: String) {
        guard let binary = TestClusters.binaryPath else { throw ServiceTestFailure( "OMNISYNC_BIN is not set") }
        return try Subprocess.run(binary, arguments: arguments, timeout: 30)
    }

    private func psql(
        _ conninfo: String, file: String, variables: [String: String]
    ) throws -> (termination: Subprocess.Termination, stdout: String, stderr: String) {
        let settings = variables.sorted { $0.key < $1.key }.flatMap { ["-v", "\($0.key)=\($0.value)"] }
        return try Subprocess.run(
            "/usr/bin/env", arguments: ["psql", "-X", "-q", "-d", conninfo] + settings + ["-f", file], timeout: 30)
    }

    /// Every line of `text` parsed as `format`, as key → value (fails on a malformed line).
    private func parsedLines(_ text: String, format: LogFormat) throws -> [[String: String]] {
        try text.split(separator: "\n").map { line in
            let fields = try XCTUnwrap(LogLineParser.parse(String(line), format: format), "malformed: \(line)")
            var values: [String: String] = [:]
            for field in fields { values[field.key] = "\(field.value)" }
            return values
        }
    }

    private struct StatusJSON {
        let sites: [[String: Any]]

        func undelivered(from site: String) -> [String: Int] {
            let entry = sites.first { $0["site"] as? String == site }
            let peers = entry?["peers"] as? [[String: Any]] ?? []
            var result: [String: Int] = [:]
            for peer in peers {
                result[peer["peer"] as? String ?? "?"] = peer["undelivered"] as? Int ?? -1
            }
            return result
        }

        func oldestAge(from site: String, to peer: String) -> Double? {
            let entry = sites.first { $0["site"] as? String == site }
            let peers = entry?["peers"] as? [[String: Any]] ?? []
            return peers.first { $0["peer"] as? String == peer }?["oldest_undelivered_age_seconds"] as? Double
        }
    }

    private func statusJSON(file: StaticString = #filePath, line: UInt = #line) throws -> StatusJSON {
        let run = try omnisync(["status", "--json", "-c", fixture.configPath])
        XCTAssertEqual(run.termination, .exited(0), run.stderr, file: file, line: line)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        return StatusJSON(sites: object?["sites"] as? [[String: Any]] ?? [])
    }
}

/// The key=value conninfo of a test database, rewritten as a URI with a password.
private struct ConnInfoParts {
    var values: [String: String] = [:]

    init(_ conninfo: String) throws {
        for pair in conninfo.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ServiceTestFailure( "unexpected conninfo \(conninfo)") }
            values[parts[0]] = parts[1]  // the last one wins, as in libpq
        }
    }

    func uri(password: String) -> String {
        let host = values["host"]?.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "postgresql://\(values["user"] ?? "postgres"):\(password)@/\(values["dbname"] ?? "")?host=\(host)&port=\(values["port"] ?? "5432")"
    }
}

/// The samples of a Prometheus text file, for comparing values by name and labels.
private struct PrometheusSamples {
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let samples: [Sample]

    init(_ text: String) throws {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let (head, value) = (line.split(separator: " ").dropLast().joined(separator: " "), line.split(separator: " ").last ?? "")
            var name = head
            var labels: [String: String] = [:]
            if let open = head.firstIndex(of: "{"), head.hasSuffix("}") {
                name = String(head[..<open])
                let inside = head[head.index(after: open)..<head.index(before: head.endIndex)]
                for pair in inside.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { throw ServiceTestFailure( "bad labels in \(line)") }
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            guard let number = Double(value) else { throw ServiceTestFailure( "bad value in \(line)") }
            samples.append(Sample(name: name, labels: labels, value: number))
        }
        self.samples = samples
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    var labelNames: Set<String> { Set(samples.flatMap(\.labels.keys)) }
}

private struct ServiceTestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
