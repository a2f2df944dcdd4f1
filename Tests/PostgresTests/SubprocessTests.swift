import Foundation
import TestSupport
import XCTest

/// The runner behind `TestClusters.stopCluster`/`startCluster` and the tests that spawn the binary.
final class SubprocessTests: XCTestCase {
    func testCapturesOutputAndExitStatus() throws {
        let run = try Subprocess.run(
            "/bin/sh", arguments: ["-c", "echo out; echo err >&2; echo \"$GREETING\"; exit 3"],
            environment: ["GREETING": "hello world", "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(run.termination, .exited(3))
        XCTAssertEqual(run.termination.code, 3)
        XCTAssertEqual(run.stdout, "out\nhello world\n")
        XCTAssertEqual(run.stderr, "err\n")
    }

    func testLargeOutputDoesNotBlockTheChild() throws {
        let run = try Subprocess.run("/bin/sh", arguments: ["-c", "head -c 1000000 /dev/zero | tr '\\0' x"], timeout: 20)
        XCTAssertEqual(run.termination, .exited(0))
        XCTAssertEqual(run.stdout.utf8.count, 1_000_000)
    }

    func testSignalsReachTheChildEvenWhenThisProcessIgnoresThem() throws {
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        let child = try Subprocess("/bin/sleep", arguments: ["30"])
        XCTAssertTrue(child.isRunning)
        XCTAssertGreaterThan(child.pid, 0)
        child.signal(SIGTERM)
        XCTAssertEqual(try child.wait(timeout: 5), .signaled(SIGTERM))
        XCTAssertEqual(child.poll()?.code, 128 + SIGTERM)
    }

    func testTimeoutKillsTheChildAndThrows() throws {
        let child = try Subprocess("/bin/sleep", arguments: ["30"])
        let started = ContinuousClock.now
        XCTAssertThrowsError(try child.wait(timeout: 0.2))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertEqual(child.poll(), .signaled(SIGKILL))
    }

    func testWorkingDirectoryAndMissingExecutable() throws {
        let run = try Subprocess.run("/bin/pwd", arguments: [], environment: nil)
        XCTAssertEqual(run.termination, .exited(0))
        let elsewhere = try Subprocess("/bin/pwd", workingDirectory: "/tmp")
        XCTAssertEqual(try elsewhere.wait(timeout: 5), .exited(0))
        XCTAssertEqual(elsewhere.stdout, "/tmp\n")
        XCTAssertThrowsError(try Subprocess("/nonexistent/omnisync"))
    }
}
