import DaemonKit
import Foundation
@testable import SyncEngine
import TestSupport
import XCTest

/// `deploy/prometheus/omnisync-rules.yml`, the alerts operators drop into Prometheus: valid for
/// `promtool`, each alert unit-tested firing and not firing by `omnisync-rules.test.yml`, and
/// written on the metrics the daemon really writes.
final class AlertRulesTests: XCTestCase {
    static let directory = DeployTests.repository.appendingPathComponent("deploy/prometheus").path
    static let rulesPath = directory + "/omnisync-rules.yml"
    static let testsPath = directory + "/omnisync-rules.test.yml"

    /// promtool, from Debian's `prometheus` package, which scripts/lib/prerequisites.sh installs as
    /// root. Missing, the tests fail: the rules would otherwise ship unchecked.
    func promtool() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let candidates = path.split(separator: ":").map { $0 + "/promtool" } + ["/usr/bin/promtool"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PromtoolMissing()
        }
        return found
    }

    struct PromtoolMissing: Error, CustomStringConvertible {
        let description =
            "promtool is not installed, so the alert rules cannot be checked. Install it with "
            + "`apt-get install --no-install-recommends prometheus` (Debian; scripts/test.sh does it as root, "
            + "without starting a Prometheus server), or put a promtool from prometheus.io on PATH"
    }

    func testRulesPassPromtoolCheck() throws {
        let run = try Subprocess.run(try promtool(), arguments: ["check", "rules", Self.rulesPath], timeout: 60)
        XCTAssertEqual(run.termination, .exited(0), run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("SUCCESS: \(try alertNames().count) rules found"), run.stdout + run.stderr)
    }

    func testRulesPassTheirUnitTests() throws {
        let run = try Subprocess.run(try promtool(), arguments: ["test", "rules", Self.testsPath], timeout: 120)
        XCTAssertEqual(run.termination, .exited(0), run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("SUCCESS"), run.stdout + run.stderr)
        XCTAssertFalse(run.stdout.contains("FAILED"), run.stdout + run.stderr)
    }

    /// Every alert of the rules file has a test case where it fires and one where it does not, and
    /// the test file names no alert the rules do not have.
    func testEveryAlertIsTestedFiringAndNotFiring() throws {
        let alerts = try alertNames()
        XCTAssertGreaterThanOrEqual(alerts.count, 7, "\(alerts)")
        let cases = try testedCases()
        for alert in alerts {
            XCTAssertTrue(cases.firing.contains(alert), "\(alert) is never tested firing")
            XCTAssertTrue(cases.silent.contains(alert), "\(alert) is never tested not firing")
        }
        XCTAssertEqual(cases.firing.union(cases.silent).subtracting(alerts), [], "test cases of unknown alerts")
    }

    /// Each alert carries a severity an Alertmanager can route on and tells a person what happened
    /// and where to look.
    func testEveryAlertHasSeveritySummaryAndDescription() throws {
        let blocks = try alertBlocks()
        XCTAssertFalse(blocks.isEmpty)
        for (alert, text) in blocks {
            XCTAssertTrue(
                text.contains("severity: critical") || text.contains("severity: warning"), "\(alert) has no severity")
            XCTAssertTrue(text.contains("summary:"), "\(alert) has no summary")
            XCTAssertTrue(text.contains("description:"), "\(alert) has no description")
            XCTAssertTrue(text.contains("omnisync ") || text.contains("journalctl"), "\(alert) names nothing to look at")
        }
    }

    /// The `omnisync_*` names in the rules are the daemon's own: a renamed metric would leave an
    /// alert that never fires. Counters are only used through `increase`, gauges never.
    func testRulesUseOnlyMetricsTheDaemonWrites() throws {
        let configuration = try Configuration.parse(
            "[site web]\nconninfo = host=/nonexistent dbname=a\n\n[site store-1]\nconninfo = host=/nonexistent dbname=b\n",
            path: "/etc/omnisync/alerts.conf")
        let engine = SyncEngine(configuration: configuration, logger: Logger(handler: MemoryLogHandler()))
        // Backlogs are only written once measured; pretend they were.
        engine.backlogs.withLock {
            $0 = [
                "web>store-1": Backlog(undelivered: 2, oldestAgeSeconds: 3),
                "store-1>web": Backlog(undelivered: 0, oldestAgeSeconds: nil),
            ]
        }
        let families = engine.metricsSnapshot().families
        let expressions = try alertBlocks().map { expression(of: $0.text) }.joined(separator: "\n")
        let used = Set(matches(of: #"omnisync_[a-z_]+"#, in: expressions))
        XCTAssertGreaterThanOrEqual(used.count, 7, "\(used)")
        for name in used {
            let family = try XCTUnwrap(families[name], "\(name) is not written by the daemon")
            let throughIncrease = expressions.contains("increase(\(name)[")
            XCTAssertEqual(family.kind == .counter, throughIncrease, "\(name) is a \(family.kind)")
            // Where the rules match on site and peer, the daemon writes those labels.
            for sample in family.samples where name != "omnisync_skipped_changes_total" {
                XCTAssertNotNil(sample.labels["site"], "\(name) \(sample.labels)")
            }
        }
        for name in ["omnisync_backlog_changes", "omnisync_changes_applied_total", "omnisync_lag_seconds"] {
            XCTAssertEqual(families[name]?.samples.allSatisfy { $0.labels["peer"] != nil }, true, name)
        }
    }

    // MARK: - Reading the YAML files (line by line; their layout is ours)

    func alertNames() throws -> [String] {
        try alertBlocks().map(\.name)
    }

    /// Each `- alert: NAME` with the lines up to the next one.
    func alertBlocks() throws -> [(name: String, text: String)] {
        let text = try String(contentsOfFile: Self.rulesPath, encoding: .utf8)
        var blocks: [(name: String, text: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- alert:") {
                blocks.append((String(trimmed.dropFirst("- alert:".count)).trimmingCharacters(in: .whitespaces), ""))
            } else if !blocks.isEmpty {
                blocks[blocks.count - 1].text += trimmed + "\n"
            }
        }
        return blocks
    }

    /// The `expr:` of an alert block: its line and the lines after it up to `for:` or `labels:`.
    func expression(of block: String) -> String {
        var lines: [Substring] = []
        for line in block.split(separator: "\n") {
            if line.hasPrefix("expr:") {
                lines.append(line.dropFirst("expr:".count))
            } else if !lines.isEmpty {
                if line.hasPrefix("for:") || line.hasPrefix("labels:") { break }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Alerts with an `exp_alerts:` list that is not empty, and alerts with `exp_alerts: []`.
    func testedCases() throws -> (firing: Set<String>, silent: Set<String>) {
        let lines = try String(contentsOfFile: Self.testsPath, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var firing: Set<String> = []
        var silent: Set<String> = []
        for (index, line) in lines.enumerated() where line.hasPrefix("alertname:") {
            let alert = String(line.dropFirst("alertname:".count)).trimmingCharacters(in: .whitespaces)
            guard index + 2 < lines.count else { continue }
            if lines[index + 1] == "exp_alerts: []" {
                silent.insert(alert)
            } else if lines[index + 1] == "exp_alerts:", lines[index + 2].hasPrefix("- exp_labels:") {
                firing.insert(alert)
            }
        }
        return (firing, silent)
    }

    func matches(of pattern: String, in text: String) -> [String] {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return [] }
        let range = NSRange(text.startIndex..., in: text)
        return expression.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }
}

/// scripts/lib/prerequisites.sh's `ensure_promtool`: as root it installs Debian's `prometheus`
/// package for promtool while a policy-rc.d refuses every service start, then puts the machine's
/// own policy back, also when the install fails; without root it says what to install.
final class PromtoolPrerequisiteTests: XCTestCase {
    struct FakeDebian {
        let bin: String
        let log: String
        let policy: String
    }

    /// Stand-ins for `id`, `apt-cache`, `apt-get` (records its arguments and what the policy
    /// answers while it runs; "installs" promtool unless told to fail), `deb-systemd-helper` and
    /// `update-rc.d` (record their arguments), alone on PATH with the few tools the script uses.
    func fakeDebian(root: Bool = true, installFails: Bool = false) throws -> FakeDebian {
        let directory = NSTemporaryDirectory() + "omnisync-promtool-\(UUID().uuidString)"
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/calls.log"
        let policy = directory + "/policy-rc.d"
        let install = installFails
            ? "exit 100"
            : "printf '#!/bin/sh\\necho promtool\\n' >'\(bin)/promtool'; /bin/chmod 755 '\(bin)/promtool'"
        let tools: [String: String] = [
            "id": "[ \"$1\" = -u ] && echo \(root ? 0 : 1000) || exec /usr/bin/id \"$@\"",
            "apt-cache": "printf 'prometheus:\\n  Installed: (none)\\n  Candidate: 2.42.0+ds-5+deb12u1\\n'",
            "apt-get": """
                echo "apt-get $*" >>'\(log)'
                /bin/sh '\(policy)' prometheus start; echo "policy answers $?" >>'\(log)'
                \(install)
                """,
            "deb-systemd-helper": "echo \"deb-systemd-helper $*\" >>'\(log)'",
            "update-rc.d": "echo \"update-rc.d $*\" >>'\(log)'",
        ]
        for (name, body) in tools {
            let path = bin + "/" + name
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        for tool in ["mv", "rm", "chmod", "cat"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + tool, withDestinationPath: "/bin/" + tool)
        }
        return FakeDebian(bin: bin, log: log, policy: policy)
    }

    func ensurePromtool(_ fake: FakeDebian) throws -> (termination: Subprocess.Termination, stderr: String) {
        let command = "set -euo pipefail; . '\(PrerequisitesTests.script)'; ensure_promtool test.sh; echo finished >&2"
        let run = try Subprocess.run(
            "/bin/bash", arguments: ["-c", command],
            environment: ["PATH": fake.bin, "HOME": NSTemporaryDirectory(), "OMNISYNC_POLICY_RC_D": fake.policy],
            timeout: 60)
        return (run.termination, run.stderr)
    }

    func calls(_ fake: FakeDebian) -> String {
        (try? String(contentsOfFile: fake.log, encoding: .utf8)) ?? ""
    }

    func testInstallsWithServiceStartsRefusedAndRestoresTheMachinesPolicy() throws {
        let fake = try fakeDebian()
        let own = "#!/bin/sh\n# the machine's own policy: starts allowed\nexit 0\n"
        try own.write(toFile: fake.policy, atomically: true, encoding: .utf8)
        chmod(fake.policy, 0o700)
        let run = try ensurePromtool(fake)
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        XCTAssertTrue(run.stderr.contains("installing prometheus (for promtool)"), run.stderr)
        XCTAssertFalse(run.stderr.contains("promtool is missing"), run.stderr)
        XCTAssertEqual(
            calls(fake),
            """
            apt-get install -y -q --no-install-recommends prometheus
            policy answers 101
            deb-systemd-helper disable prometheus.service
            update-rc.d prometheus disable

            """)
        XCTAssertEqual(try String(contentsOfFile: fake.policy, encoding: .utf8), own)
        let mode = try FileManager.default.attributesOfItem(atPath: fake.policy)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o700)
        let left = try FileManager.default.contentsOfDirectory(atPath: (fake.policy as NSString).deletingLastPathComponent)
        XCTAssertEqual(left.filter { $0.hasPrefix("policy-rc.d") }, ["policy-rc.d"], "\(left)")
    }

    func testAFailedInstallLeavesNoPolicyBehindAndSaysTheTestsWillFail() throws {
        let fake = try fakeDebian(installFails: true)
        let run = try ensurePromtool(fake)
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        XCTAssertTrue(run.stderr.contains("promtool is missing"), run.stderr)
        XCTAssertTrue(run.stderr.contains("the alert rule tests will fail"), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("finished\n"), run.stderr)
        XCTAssertEqual(calls(fake), "apt-get install -y -q --no-install-recommends prometheus\npolicy answers 101\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fake.policy), "the temporary policy-rc.d was left behind")
    }

    func testWithoutRootItSaysWhatToInstall() throws {
        let fake = try fakeDebian(root: false)
        let run = try ensurePromtool(fake)
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        XCTAssertTrue(run.stderr.contains("apt-get install --no-install-recommends prometheus"), run.stderr)
        XCTAssertEqual(calls(fake), "")
    }
}
