import Foundation
import TestSupport
import XCTest

/// scripts/lib/prerequisites.sh, which scripts/test.sh sources under `set -euo pipefail`: on a fresh
/// Debian, as root, it must install systemd so that the unit file tests run instead of being skipped.
final class PrerequisitesTests: XCTestCase {
    static let script = DeployTests.repository.appendingPathComponent("scripts/lib/prerequisites.sh").path

    /// A directory of stand-ins for `id` (root), `apt-cache` (a long policy output, as for a
    /// package with many versions and sources) and `apt-get` (records what it was asked), and the
    /// only directory on PATH, so that `systemd-analyze` is missing.
    func fakeDebian(candidate: String) throws -> (bin: String, log: String) {
        let directory = NSTemporaryDirectory() + "omnisync-prereq-\(UUID().uuidString)"
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/apt-get.log"
        let tools: [String: String] = [
            "id": "[ \"$1\" = -u ] && echo 0 || exec /usr/bin/id \"$@\"",
            "apt-cache": """
                printf 'systemd:\\n  Installed: (none)\\n  Candidate: \(candidate)\\n  Version table:\\n'
                /usr/bin/yes '     252.38-1~deb12u1 500' | /usr/bin/head -c 2000000
                """,
            "apt-get": "echo \"$*\" >>'\(log)'",
        ]
        for (name, body) in tools {
            let path = bin + "/" + name
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        for tool in ["grep", "cat", "sed"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + tool, withDestinationPath: "/bin/" + tool)
        }
        return (bin, log)
    }

    func ensureSystemdAnalyze(bin: String) throws -> (termination: Subprocess.Termination, stderr: String) {
        let command = "set -euo pipefail; . '\(Self.script)'; ensure_systemd_analyze test.sh; echo finished >&2"
        let run = try Subprocess.run(
            "/bin/bash", arguments: ["-c", command], environment: ["PATH": bin, "HOME": NSTemporaryDirectory()],
            timeout: 60)
        return (run.termination, run.stderr)
    }

    func testInstallsSystemdWhenAptHasACandidateAndPipefailIsOn() throws {
        let fake = try fakeDebian(candidate: "252.38-1~deb12u1")
        let run = try ensureSystemdAnalyze(bin: fake.bin)
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        XCTAssertTrue(run.stderr.contains("installing systemd"), run.stderr)
        XCTAssertFalse(run.stderr.contains("will be skipped"), run.stderr)
        let calls = (try? String(contentsOfFile: fake.log, encoding: .utf8)) ?? ""
        XCTAssertEqual(calls, "install -y -q --no-install-recommends systemd\n")
    }

    func testSaysTheTestsWillBeSkippedWhenThereIsNoCandidate() throws {
        let fake = try fakeDebian(candidate: "(none)")
        let run = try ensureSystemdAnalyze(bin: fake.bin)
        XCTAssertEqual(run.termination, .exited(0), run.stderr)
        XCTAssertTrue(run.stderr.contains("the unit file tests will be skipped"), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("finished\n"), run.stderr)
        // The package lists were refreshed once, and nothing was installed.
        XCTAssertEqual((try? String(contentsOfFile: fake.log, encoding: .utf8)) ?? "", "update -q\n")
    }
}
