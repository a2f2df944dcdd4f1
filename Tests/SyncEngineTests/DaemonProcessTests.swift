import Foundation
import SyncEngine
import TestSupport
import XCTest

/// `omnisync run` as a process under systemd sees it, without a database: how signals end it and
/// what its last words look like in the journal.
final class DaemonProcessTests: XCTestCase {
    /// Two sites that refuse connections at once: the daemon starts, finds both down, declares
    /// readiness and keeps retrying.
    let unreachableSites = """
        [site web]
        conninfo = host=127.0.0.1 port=1 dbname=shop connect_timeout=2

        [site store-1]
        conninfo = host=127.0.0.1 port=1 dbname=pos connect_timeout=2
        """

    func temporaryFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "omnisync-process-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        addTeardownBlock { unlink(path) }
        return path
    }

    func environment(_ changes: [String: String?]) -> [String: String] {
        var all: [String: String?] = ["NOTIFY_SOCKET": nil, "JOURNAL_STREAM": nil, "WATCHDOG_USEC": nil]
        all.merge(changes) { _, new in new }
        return Subprocess.environment(adding: all)
    }

    /// systemd's watchdog sends SIGABRT. The Swift runtime catches it to run swift-backtrace; when
    /// that cannot start (as under `MemoryDenyWriteExecute=yes`, reproduced here by naming a
    /// backtracer that does not exist) its handler returns and, unless the daemon restored the
    /// default action, the process carries on. It must die of the signal, promptly.
    func testAbortAndQuitEndTheDaemonEvenWhenTheBacktracerCannotRun() throws {
        let config = try temporaryFile(unreachableSites)
        // The last case is the watchdog's: a stopped (hung) process gets SIGABRT, then SIGCONT.
        for (signal, stopped) in [(SIGABRT, false), (SIGQUIT, false), (SIGABRT, true)] {
            let daemon = try Subprocess(
                try CLIRunner.binary().path, arguments: ["run", "-c", config],
                environment: environment(["SWIFT_BACKTRACE": "enable=yes,swift-backtrace=/nonexistent/swift-backtrace"]))
            try waitFor("omnisync ready", in: daemon)
            if stopped { daemon.signal(SIGSTOP) }
            daemon.signal(signal)
            if stopped { daemon.signal(SIGCONT) }
            let termination = try daemon.wait(timeout: 10)
            XCTAssertEqual(termination, .signaled(signal), "signal \(signal); stderr:\n\(daemon.stderr)")
        }
    }

    /// A fatal configuration error is the unit's last word before exit 78: in the journal it
    /// must carry an error priority, like every log line, or `journalctl -p warning` hides it.
    func testFatalErrorsBeforeTheLoggerCarryTheJournalPriority() throws {
        let bad = try temporaryFile("[daemon]\nbatch_size = lots\n\n" + unreachableSites)
        let journal = environment(["JOURNAL_STREAM": "8:4242"])
        let binary = try CLIRunner.binary().path

        let refused = try Subprocess.run(binary, arguments: ["run", "-c", bad], environment: journal, timeout: 30)
        XCTAssertEqual(refused.termination, .exited(78), refused.stderr)
        XCTAssertTrue(refused.stderr.hasPrefix("<3>omnisync: \(bad):2: "), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("batch_size"), refused.stderr)

        let missing = try Subprocess.run(
            binary, arguments: ["run", "-c", "/nonexistent/omnisync.conf"], environment: journal, timeout: 30)
        XCTAssertEqual(missing.termination, .exited(78), missing.stderr)

        let usage = try Subprocess.run(binary, arguments: ["run", "--bogus"], environment: journal, timeout: 30)
        XCTAssertEqual(usage.termination, .exited(64), usage.stderr)

        for run in [refused, missing, usage] {
            let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            XCTAssertFalse(lines.isEmpty)
            for line in lines {
                XCTAssertTrue(line.hasPrefix("<3>"), "no error priority: \(line)")
            }
            XCTAssertTrue(run.stderr.hasSuffix("\n"))
        }

        // Outside the journal the same lines are plain.
        let plain = try Subprocess.run(binary, arguments: ["run", "-c", bad], environment: environment([:]), timeout: 30)
        XCTAssertEqual(plain.termination, .exited(78))
        XCTAssertTrue(plain.stderr.hasPrefix("omnisync: \(bad):2: "), plain.stderr)
    }

    /// Two sites whose server accepts TCP connections and never says a word: each connect gives up
    /// after 5 s whatever `connect_timeout` says (40 s here for one), so both are logged
    /// unreachable with libpq's timeout and READY comes well within startup's 15 s bound. The
    /// guide's log table must say so, since an operator looks a hanging site up there.
    func testASiteThatHangsAtStartIsReportedAsTheGuideSays() throws {
        let silent = try BlackholeServer(.listening)
        defer { withExtendedLifetime(silent) {} }
        let config = try temporaryFile(
            """
            [site web]
            conninfo = host=127.0.0.1 port=\(silent.port) dbname=shop

            [site store-1]
            conninfo = host=127.0.0.1 port=\(silent.port) dbname=pos connect_timeout=40
            """)
        let started = Date()
        let daemon = try Subprocess(
            try CLIRunner.binary().path, arguments: ["run", "-c", config], environment: environment([:]))
        try waitFor("omnisync ready", in: daemon, timeout: 30)
        let ready = Date().timeIntervalSince(started)
        daemon.signal(SIGKILL)
        _ = try daemon.wait(timeout: 10)
        XCTAssertLessThan(ready, 12, "startup waited longer than the 5 s connect limit allows")

        let lines = daemon.stderr.split(separator: "\n").map(String.init)
        for site in ["web", "store-1"] {
            let unreachable = lines.first { $0.contains("msg=\"site unreachable\" site=\(site) ") }
            XCTAssertTrue(unreachable?.contains("timeout expired while connecting") == true, daemon.stderr)
        }
        XCTAssertFalse(lines.contains { $0.contains("site not answering at start") }, daemon.stderr)

        let guide = try String(
            contentsOf: DeployTests.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let table = guide.split(separator: "\n").filter { $0.hasPrefix("| warning | `site ") }
        let unreachableRow = table.first { $0.hasPrefix("| warning | `site unreachable` |") } ?? ""
        XCTAssertTrue(unreachableRow.contains("timeout expired while connecting"), "guide: \(unreachableRow)")
        XCTAssertTrue(unreachableRow.contains("5 s"), "guide: \(unreachableRow)")
        let notAnsweringRow = table.first { $0.contains("`site not answering at start, ready without it`") } ?? ""
        XCTAssertTrue(notAnsweringRow.contains("connected and then hung"), "guide: \(notAnsweringRow)")
    }

    /// `omnisync reload`, the unit's ExecReload=: returns once the daemon runs with the new file
    /// (a log level at once; a new site after its connections were renewed), and fails with 78,
    /// naming file, line and key, for a file with a mistake, which the daemon never hears of.
    func testReloadWaitsForTheNewConfigurationAndFailsForABadFile() throws {
        let runtime = NSTemporaryDirectory() + "omnisync-runtime-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let config = try temporaryFile(unreachableSites)
        let binary = try CLIRunner.binary().path
        let withRuntime = environment(["RUNTIME_DIRECTORY": runtime])
        let daemon = try Subprocess(binary, arguments: ["run", "-c", config], environment: withRuntime)
        defer { daemon.signal(SIGKILL) }
        try waitFor("omnisync ready", in: daemon)
        func reload() throws -> (termination: Subprocess.Termination, stdout: String, stderr: String) {
            try Subprocess.run(
                binary, arguments: ["reload", "-c", config, "--pid", String(daemon.pid)], environment: withRuntime, timeout: 90)
        }

        try ("[daemon]\nlog_level = debug\n\n" + unreachableSites).write(toFile: config, atomically: true, encoding: .utf8)
        let levelChanged = try reload()
        XCTAssertEqual(levelChanged.termination, .exited(0), levelChanged.stderr)
        XCTAssertTrue(daemon.stderr.contains(#"msg="configuration reloaded" config="#), daemon.stderr)

        // A new site: the engine restarts in place; reload returns after it is ready again.
        let threeSites = "[daemon]\nlog_level = debug\n\n" + unreachableSites
            + "\n\n[site store-2]\nconninfo = host=127.0.0.1 port=1 dbname=pos2 connect_timeout=2\n"
        try threeSites.write(toFile: config, atomically: true, encoding: .utf8)
        let siteAdded = try reload()
        XCTAssertEqual(siteAdded.termination, .exited(0), siteAdded.stderr)
        XCTAssertTrue(daemon.stderr.contains(#"msg="configuration applied" sites_up=0 sites=3"#), daemon.stderr)

        // A mistake: refused before any signal, with the place of the mistake.
        try ("[daemon]\nbatch_size = lots\n\n" + unreachableSites).write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try reload()
        XCTAssertEqual(refused.termination, .exited(78), refused.stderr)
        XCTAssertTrue(refused.stderr.hasPrefix("omnisync: \(config):2: key 'batch_size'"), refused.stderr)
        usleep(300_000)
        XCTAssertFalse(daemon.stderr.contains("configuration not reloaded"), "the daemon was signalled")
        XCTAssertEqual(daemon.stderr.components(separatedBy: "msg=\"configuration reloaded\"").count - 1, 2)
        XCTAssertTrue(daemon.isRunning)

        // No daemon behind the PID, and no runtime directory to wait through.
        daemon.signal(SIGTERM)
        XCTAssertEqual(try daemon.wait(timeout: 20), .exited(0), daemon.stderr)
        try threeSites.write(toFile: config, atomically: true, encoding: .utf8)
        let gone = try reload()
        XCTAssertEqual(gone.termination, .exited(1), gone.stderr)
        let outside = try Subprocess.run(
            binary, arguments: ["reload", "-c", config, "--pid", String(getpid())], environment: environment([:]), timeout: 30)
        XCTAssertEqual(outside.termination, .exited(64), outside.stderr)
        XCTAssertTrue(outside.stderr.contains("RUNTIME_DIRECTORY"), outside.stderr)
    }

    /// What the daemon writes for `omnisync reload`, read back.
    func testReloadReportRoundTrips() throws {
        for report in [
            ReloadReport(pid: 42, generation: 0, error: nil),
            ReloadReport(pid: 42, generation: 7, error: "/etc/omnisync/omnisync.conf:3: key 'x': unknown key"),
        ] {
            let path = NSTemporaryDirectory() + "omnisync-report-\(UUID().uuidString)"
            defer { unlink(path) }
            try report.write(to: path)
            XCTAssertEqual(ReloadReport.read(path: path), report)
        }
        XCTAssertEqual(ReloadReport.path(environment: ["RUNTIME_DIRECTORY": "/run/omnisync"]), "/run/omnisync/reload")
        XCTAssertNil(ReloadReport.path(environment: [:]))
        XCTAssertNil(ReloadReport(text: "42\n"))
    }

    private func waitFor(_ text: String, in daemon: Subprocess, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !daemon.stderr.contains(text) {
            guard daemon.isRunning else { return XCTFail("the daemon ended; stderr:\n\(daemon.stderr)") }
            guard Date() < deadline else { return XCTFail("no \"\(text)\" within \(timeout) s; stderr:\n\(daemon.stderr)") }
            usleep(20_000)
        }
    }
}
