import Foundation
import TestSupport
import XCTest

/// `deploy/omnisync.service` and `scripts/install.sh`: what systemd and an installing operator get.
final class DeployTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let unitPath = repository.appendingPathComponent("deploy/omnisync.service").path

    /// `systemd-analyze`, which scripts/lib/prerequisites.sh installs when it is missing.
    func systemdAnalyze() throws -> String {
        let candidates = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("systemd-analyze is not installed (Debian: apt-get install systemd); the unit was not checked")
        }
        return found
    }

    /// A copy of the unit whose `ExecStart` names the built binary (verify fails on a missing one).
    func unitCopy() throws -> (directory: String, path: String) {
        let binary = try CLIRunner.binary().path
        let text = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/omnisync", with: binary)
        let directory = NSTemporaryDirectory() + "omnisync-unit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/omnisync.service"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (directory, path)
    }

    func testUnitFileVerifiesWithoutAWord() throws {
        let analyze = try systemdAnalyze()
        let copy = try unitCopy()
        defer { try? FileManager.default.removeItem(atPath: copy.directory) }
        let run = try Subprocess.run(analyze, arguments: ["verify", copy.path], timeout: 30)
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        // Unknown keys and bad values are only warnings: any output at all is a failure.
        XCTAssertEqual(run.stdout + run.stderr, "")
    }

    func testUnitKeepsTheServiceContract() throws {
        let text = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
        var settings: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2 { settings[parts[0], default: []].append(parts[1]) }
        }
        let required: [String: String] = [
            "Type": "notify", "ExecStart": "/usr/local/bin/omnisync run -c /etc/omnisync/omnisync.conf",
            "ExecReload": "/usr/local/bin/omnisync reload -c /etc/omnisync/omnisync.conf --pid $MAINPID",
            "RuntimeDirectory": "omnisync", "Restart": "on-failure", "RestartPreventExitStatus": "78",
            "User": "omnisync", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        ]
        for (key, value) in required {
            XCTAssertEqual(settings[key], [value], key)
        }
        XCTAssertEqual(settings["SystemCallFilter"]?.first, "@system-service")
        XCTAssertNotNil(settings["WatchdogSec"])
    }

    /// The watchdog's SIGABRT must end a hung daemon at once (DaemonProcessTests checks that the
    /// binary dies of it); should it not, SIGKILL must follow within seconds, not TimeoutStopSec.
    func testAHungDaemonIsKilledSoonAfterTheWatchdogFires() throws {
        let settings = try unitSettings()
        XCTAssertTrue(settings["Environment"]?.contains("SWIFT_BACKTRACE=enable=no") == true, "\(settings["Environment"] ?? [])")
        XCTAssertEqual(settings["MemoryDenyWriteExecute"], ["yes"])
        XCTAssertNil(settings["WatchdogSignal"], "the watchdog must send its default, SIGABRT")
        let abort = try XCTUnwrap(settings["TimeoutAbortSec"]?.last, "TimeoutAbortSec= is not set")
        let seconds = try XCTUnwrap(abort.hasSuffix("s") ? Int(abort.dropLast()) : nil, abort)
        XCTAssertLessThanOrEqual(seconds, 15)
        XCTAssertGreaterThan(seconds, 0)
    }

    /// Every `Key=value` line of the unit, by key, in order.
    func unitSettings() throws -> [String: [String]] {
        let text = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
        var settings: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2 { settings[parts[0], default: []].append(parts[1]) }
        }
        return settings
    }

    func testSecurityExposureIsAtMostTwo() throws {
        let analyze = try systemdAnalyze()
        let copy = try unitCopy()
        defer { try? FileManager.default.removeItem(atPath: copy.directory) }
        let run = try Subprocess.run(analyze, arguments: ["security", "--offline=true", "--no-pager", copy.path], timeout: 30)
        if run.stderr.contains("--offline") || run.stderr.contains("unrecognized option") {
            throw XCTSkip("this systemd-analyze cannot judge a unit offline (systemd 250 or newer can)")
        }
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        let marker = "Overall exposure level for omnisync.service: "
        let line = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.contains(marker) }, run.stdout)
        let figure = line.components(separatedBy: marker)[1].split(separator: " ").first.flatMap { Double($0) }
        XCTAssertLessThanOrEqual(try XCTUnwrap(figure, String(line)), 2.0, run.stdout)
    }

    func testInstallScriptStagesEveryFileAndKeepsTheConfiguration() throws {
        let binary = try CLIRunner.binary().path
        let stage = NSTemporaryDirectory() + "omnisync-stage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let script = Self.repository.appendingPathComponent("scripts/install.sh").path
        let environment = Subprocess.environment(adding: ["DESTDIR": stage])

        let first = try Subprocess.run(script, arguments: ["--binary", binary], environment: environment, timeout: 60)
        XCTAssertEqual(first.termination, .exited(0), first.stderr)
        let files: [String: Int] = [
            "/usr/local/bin/omnisync": 0o755, "/etc/systemd/system/omnisync.service": 0o644,
            "/etc/omnisync/omnisync.conf": 0o640, "/etc/omnisync/omnisync.conf.example": 0o644,
            "/usr/local/share/omnisync/omnisync_role.sql": 0o644,
            "/usr/local/share/omnisync/application_role.sql": 0o644,
            "/usr/local/share/doc/omnisync/operations.md": 0o644,
        ]
        for (path, mode) in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: stage + path)
            XCTAssertEqual(attributes?[.posixPermissions] as? Int, mode, "\(path)\n\(first.stderr)")
        }
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: stage + "/usr/local/bin/omnisync", andPath: binary))
        let staged = try String(contentsOfFile: stage + "/etc/systemd/system/omnisync.service", encoding: .utf8)
        XCTAssertEqual(staged, try String(contentsOfFile: Self.unitPath, encoding: .utf8))

        // Run again (an upgrade): the operator's configuration stays as it is.
        let configuration = stage + "/etc/omnisync/omnisync.conf"
        try "[site a]\nconninfo = dbname=a\n".write(toFile: configuration, atomically: true, encoding: .utf8)
        let again = try Subprocess.run(script, arguments: ["--binary", binary], environment: environment, timeout: 60)
        XCTAssertEqual(again.termination, .exited(0), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: configuration, encoding: .utf8), "[site a]\nconninfo = dbname=a\n")
        XCTAssertTrue(again.stderr.contains("kept the existing /etc/omnisync/omnisync.conf"), again.stderr)

        // Another prefix: the unit starts the binary where it was put.
        let other = try Subprocess.run(
            script, arguments: ["--binary", binary, "--prefix", "/opt/omnisync"], environment: environment, timeout: 60)
        XCTAssertEqual(other.termination, .exited(0), other.stderr)
        let unit = try String(contentsOfFile: stage + "/etc/systemd/system/omnisync.service", encoding: .utf8)
        XCTAssertTrue(unit.contains("\nExecStart=/opt/omnisync/bin/omnisync run -c /etc/omnisync/omnisync.conf\n"), unit)
        XCTAssertTrue(unit.contains("\nExecReload=/opt/omnisync/bin/omnisync reload -c /etc/omnisync/omnisync.conf --pid $MAINPID\n"), unit)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: stage + "/opt/omnisync/bin/omnisync"))

        let usage = try Subprocess.run(script, arguments: ["--frobnicate"], environment: environment, timeout: 30)
        XCTAssertEqual(usage.termination, .exited(64))
    }
}
