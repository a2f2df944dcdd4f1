import Foundation
import Postgres
import TestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Every wait on a server that does not answer is bounded: a connect in all (whatever
/// `connect_timeout` says), callers queued behind a failed connect, and, once the owner shuts
/// down, a connect or a statement under way.
final class UnresponsiveServerTests: XCTestCase {
    func testConnectGivesUpAfterTheLimitEvenWithALargerConnectTimeout() throws {
        let server = try BlackholeServer(.listening)
        let started = ContinuousClock.now
        XCTAssertThrowsError(try PostgresConnection.connect(conninfo: server.superuserConninfo + " connect_timeout=30")) {
            XCTAssertEqual(($0 as? PostgresError)?.message, "timeout expired while connecting")
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(elapsed, PostgresConnection.connectLimit - .milliseconds(100))
        XCTAssertLessThan(elapsed, PostgresConnection.connectLimit + .seconds(2))
    }

    func testCallersQueuedBehindAFailedConnectFailAtOnce() async throws {
        let server = try BlackholeServer(.listening)
        let session = PostgresSession(conninfo: server.superuserConninfo + " connect_timeout=2", label: "silent")
        let started = ContinuousClock.now
        let failures = await withTaskGroup(of: PostgresError?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    do {
                        _ = try await session.withConnection { $0.backendPID }
                        return nil
                    } catch {
                        return error as? PostgresError
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(failures.compactMap { $0?.category }, [.connection, .connection, .connection])
        XCTAssertLessThan(elapsed, .seconds(4), "one attempt of 2 s, not three one after another")
        let connects = await session.connects
        XCTAssertEqual(connects, 0)
    }

    func testInterruptAbandonsAConnectUnderWayAndRefusesNewOnes() async throws {
        let server = try BlackholeServer(.listening)
        let session = PostgresSession(conninfo: server.superuserConninfo, label: "silent")
        let attempt = Task {
            do {
                _ = try await session.withConnection { $0.backendPID }
                return "connected"
            } catch {
                return "\(error)"
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let interrupted = ContinuousClock.now
        session.interrupt()
        let outcome = await attempt.value
        XCTAssertLessThan(ContinuousClock.now - interrupted, .seconds(1))
        XCTAssertTrue(outcome.contains("connection attempt abandoned"), outcome)
        do {
            _ = try await session.withConnection { $0.backendPID }
            XCTFail("connected after the interrupt")
        } catch let error as PostgresError {
            XCTAssertEqual(error.category, .connection)
            XCTAssertTrue(error.message.contains("shutting down"), error.message)
        }
    }

    /// After an interrupt a healthy server's statements still complete (the batch under way
    /// commits); one that a stopped backend never answers is given a few seconds, then its
    /// connection is closed.
    func testInterruptBoundsAStatementThatAHungServerNeverAnswers() async throws {
        let clusters = try TestClusters.fromEnvironment()
        let session = PostgresSession(conninfo: clusters.adminConninfo(0), label: "hung")
        let pid = try await session.withConnection { $0.backendPID }
        session.interrupt()
        let stillWorks = try await session.withConnection { try $0.query("SELECT 'after'", label: "after").rows }
        XCTAssertEqual(stillWorks, [["after"]], "statements on a live connection are not cut short")

        guard kill(pid, SIGSTOP) == 0 else { throw XCTSkip("cannot stop the backend (not run as root)") }
        defer { kill(pid, SIGCONT) }
        let started = ContinuousClock.now
        do {
            _ = try await session.withConnection { try $0.query("SELECT 1", label: "to a hung server") }
            XCTFail("a stopped backend answered")
        } catch let error as PostgresError {
            XCTAssertEqual(error.category, .connection)
            XCTAssertEqual(error.statement, "to a hung server")
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(elapsed, PostgresConnection.shutdownGrace - .milliseconds(100))
        XCTAssertLessThan(elapsed, PostgresConnection.shutdownGrace + .seconds(2))
        let connected = await session.isConnected
        XCTAssertFalse(connected, "the connection was closed")
    }
}
