import Foundation
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
        for signal in [SIGABRT, SIGQUIT] {
            let daemon = try Subprocess(
                try CLIRunner.binary().path, arguments: ["run", "-c", config],
                environment: environment(["SWIFT_BACKTRACE": "enable=yes,swift-backtrace=/nonexistent/swift-backtrace"]))
            try waitFor("omnisync ready", in: daemon)
            daemon.signal(signal)
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

    /// Two sites whose server accepts TCP connections and never says a word: with the default
    /// `connect_timeout` (10 s) the site is logged unreachable with libpq's timeout, READY comes
    /// then; with a longer one, startup gives up on it after 15 s. The guide's log table must
    /// say both, since an operator looks a hanging site up there.
    func testASiteThatHangsAtStartIsReportedAsTheGuideSays() throws {
        let silent = try SilentListener()
        defer { silent.close() }
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
        XCTAssertLessThan(ready, 25, "startup waited longer than its 15 s bound")

        let lines = daemon.stderr.split(separator: "\n").map(String.init)
        let unreachable = lines.first { $0.contains("msg=\"site unreachable\" site=web ") }
        XCTAssertTrue(unreachable?.contains("timeout expired while connecting") == true, daemon.stderr)
        XCTAssertTrue(
            lines.contains { $0.contains("msg=\"site not answering at start, ready without it\" site=store-1") },
            daemon.stderr)
        XCTAssertFalse(lines.contains { $0.contains("site=store-1") && $0.contains("site unreachable") }, daemon.stderr)

        let guide = try String(
            contentsOf: DeployTests.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let table = guide.split(separator: "\n").filter { $0.hasPrefix("| warning | `site ") }
        let unreachableRow = table.first { $0.hasPrefix("| warning | `site unreachable` |") } ?? ""
        XCTAssertTrue(unreachableRow.contains("timeout expired while connecting"), "guide: \(unreachableRow)")
        XCTAssertTrue(unreachableRow.contains("connect_timeout"), "guide: \(unreachableRow)")
        let notAnsweringRow = table.first { $0.contains("`site not answering at start, ready without it`") } ?? ""
        XCTAssertTrue(notAnsweringRow.contains("connect_timeout"), "guide: \(notAnsweringRow)")
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

/// A TCP socket on 127.0.0.1 that listens and never accepts: the kernel completes the handshake,
/// and a client then waits for a server greeting that never comes.
private final class SilentListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else { throw Failure(description: "bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }
}
