import Foundation
import Postgres
import Synchronization
import TestSupport
import XCTest

final class NotificationListenerTests: XCTestCase {
    private var clusters: TestClusters!

    override func setUpWithError() throws {
        clusters = try TestClusters.fromEnvironment()
    }

    /// Collects a listener's events as they arrive, so tests can wait for a condition with a timeout.
    private final class Recorder: Sendable {
        private let events = Mutex<[NotificationListener.Event]>([])
        private let finished = Atomic(false)

        init(_ listener: NotificationListener) {
            Task { [self] in
                for await event in listener.events {
                    events.withLock { $0.append(event) }
                }
                finished.store(true, ordering: .releasing)
            }
        }

        var all: [NotificationListener.Event] { events.withLock { $0 } }
        var isFinished: Bool { finished.load(ordering: .acquiring) }

        func waitFor(
            timeout: Duration = .seconds(10), _ condition: ([NotificationListener.Event]) -> Bool
        ) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if condition(all) { return true }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return condition(all)
        }

        func count(_ event: NotificationListener.Event) -> Int {
            all.filter { $0 == event }.count
        }
    }

    private func notify(_ channel: String, _ payload: String, cluster: Int = 0) throws {
        let sender = try PostgresConnection.connect(conninfo: clusters.adminConninfo(cluster))
        defer { sender.close() }
        try sender.query("SELECT pg_notify($1, $2)", [channel, payload], label: "notify")
    }

    private func listenerPID(applicationName: String, cluster: Int = 0) throws -> String? {
        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(cluster))
        defer { admin.close() }
        return try admin.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", [applicationName], label: "find listener"
        ).rows.first?.first ?? nil
    }

    private static func uniqueChannel(_ base: String) -> String {
        "\(base) \(getpid()) \(UInt32.random(in: 0...UInt32.max))"
    }

    func testReceivesNotificationsFromAnotherConnection() async throws {
        let channel = Self.uniqueChannel("Mixed \"Case\" chan")
        let other = Self.uniqueChannel("other")
        let listener = NotificationListener(
            conninfo: clusters.adminConninfo(0), channels: [channel, other], label: "listen test")
        let recorder = Recorder(listener)
        listener.start()
        defer { listener.stop() }
        let connected = await recorder.waitFor { $0.contains(.connected) }
        XCTAssertTrue(connected, "\(recorder.all)")

        let payload = "store-042 'quoted' \\ ünïcödé"
        try notify(channel, payload)
        try notify(other, "second")
        let received = await recorder.waitFor {
            $0.contains(.notification(channel: channel, payload: payload))
                && $0.contains(.notification(channel: other, payload: "second"))
        }
        XCTAssertTrue(received, "\(recorder.all)")
        try notify(Self.uniqueChannel("not listened"), "x")
        try notify(channel, "last")
        _ = await recorder.waitFor { $0.contains(.notification(channel: channel, payload: "last")) }
        XCTAssertEqual(
            recorder.all,
            [
                .connected, .notification(channel: channel, payload: payload),
                .notification(channel: other, payload: "second"), .notification(channel: channel, payload: "last"),
            ])
    }

    func testIdleListenerDoesNotSpin() async throws {
        let listener = NotificationListener(
            conninfo: clusters.adminConninfo(0), channels: [Self.uniqueChannel("idle")], label: "idle")
        let recorder = Recorder(listener)
        listener.start()
        defer { listener.stop() }
        let connected = await recorder.waitFor { $0.contains(.connected) }
        XCTAssertTrue(connected, "\(recorder.all)")
        let before = ThreadNames.cpuTicks("listen idle")
        try await Task.sleep(for: .milliseconds(500))
        // A thread spinning for 0.5 s would use about 50 ticks.
        XCTAssertLessThanOrEqual(ThreadNames.cpuTicks("listen idle") - before, 2)
        XCTAssertEqual(ThreadNames.count("listen idle"), 1)
    }

    func testRelistensAfterItsBackendIsTerminated() async throws {
        let channel = Self.uniqueChannel("terminate")
        let applicationName = "listener-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let listener = NotificationListener(
            conninfo: clusters.adminConninfo(0), channels: [channel], label: "terminated",
            applicationName: applicationName, backoff: Backoff(initial: 0.05, maximum: 0.2))
        let recorder = Recorder(listener)
        listener.start()
        defer { listener.stop() }
        let connected = await recorder.waitFor { $0.contains(.connected) }
        XCTAssertTrue(connected, "\(recorder.all)")
        let pid = try XCTUnwrap(try listenerPID(applicationName: applicationName))

        let admin = try PostgresConnection.connect(conninfo: clusters.adminConninfo(0))
        defer { admin.close() }
        try admin.query("SELECT pg_terminate_backend($1::int, 5000)", [pid], label: "kill listener")
        let reconnected = await recorder.waitFor { events in
            events.filter { $0 == .connected }.count == 2
        }
        XCTAssertTrue(reconnected, "\(recorder.all)")
        guard case .disconnected(let error)? = recorder.all.dropFirst().first else {
            return XCTFail("expected a disconnect after the first connect: \(recorder.all)")
        }
        XCTAssertEqual(error.category, .connection)
        XCTAssertEqual(error.sqlState, "57P01")
        XCTAssertEqual(error.statement, "terminated")

        let newPID = try listenerPID(applicationName: applicationName)
        XCTAssertNotNil(newPID)
        XCTAssertNotEqual(newPID, pid)
        try notify(channel, "after terminate")
        let received = await recorder.waitFor { $0.contains(.notification(channel: channel, payload: "after terminate")) }
        XCTAssertTrue(received, "\(recorder.all)")
    }

    func testRelistensAfterTheServerRestarts() async throws {
        let cluster = clusters.count - 1
        let channel = Self.uniqueChannel("restart")
        let listener = NotificationListener(
            conninfo: clusters.adminConninfo(cluster), channels: [channel], label: "restart",
            backoff: Backoff(initial: 0.05, maximum: 0.2))
        let recorder = Recorder(listener)
        listener.start()
        defer { listener.stop() }
        let connected = await recorder.waitFor { $0.contains(.connected) }
        XCTAssertTrue(connected, "\(recorder.all)")

        try clusters.stopCluster(cluster)
        var restarted = false
        defer { if !restarted { try? clusters.startCluster(cluster) } }
        let lost = await recorder.waitFor {
            $0.contains { if case .disconnected = $0 { true } else { false } }
        }
        XCTAssertTrue(lost, "\(recorder.all)")
        // Failed retries while the server is down are not reported again.
        try await Task.sleep(for: .milliseconds(400))
        XCTAssertEqual(recorder.all.count, 2, "\(recorder.all)")

        try clusters.startCluster(cluster)
        restarted = true
        let reconnected = await recorder.waitFor { $0.filter { $0 == .connected }.count == 2 }
        XCTAssertTrue(reconnected, "\(recorder.all)")
        try notify(channel, "after restart", cluster: cluster)
        let received = await recorder.waitFor { $0.contains(.notification(channel: channel, payload: "after restart")) }
        XCTAssertTrue(received, "\(recorder.all)")
    }

    func testStopIsPromptAndFinishesTheStream() async throws {
        // Unreachable, with a long backoff: stop() must not wait for the next attempt.
        let listener = NotificationListener(
            conninfo: "host=/nonexistent/omnisync port=1 user=postgres", channels: ["c"], label: "unreachable",
            backoff: Backoff(initial: 30, maximum: 30))
        let recorder = Recorder(listener)
        listener.start()
        let failed = await recorder.waitFor { !$0.isEmpty }
        XCTAssertTrue(failed)
        guard case .disconnected(let error)? = recorder.all.first else { return XCTFail("\(recorder.all)") }
        XCTAssertEqual(error.category, .connection)
        XCTAssertEqual(error.statement, "unreachable")

        XCTAssertEqual(ThreadNames.count("listen unreacha"), 1)  // the kernel keeps 15 bytes
        let started = ContinuousClock.now
        listener.stop()
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
        let threads = await ThreadNames.wait(for: "listen unreacha", count: 0)
        XCTAssertEqual(threads, 0)
        listener.stop()
        let finished = await recorder.waitFor(timeout: .seconds(2)) { _ in recorder.isFinished }
        XCTAssertTrue(finished)
        XCTAssertEqual(recorder.all.count, 1)
    }

    func testStopIsPromptWhileConnectingToASilentServer() async throws {
        let server = try BlackholeServer(.listening)
        let listener = NotificationListener(conninfo: server.superuserConninfo, channels: ["c"], label: "silent")
        let recorder = Recorder(listener)
        listener.start()
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertEqual(ThreadNames.count("listen silent"), 1)
        let started = ContinuousClock.now
        listener.stop()
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
        let finished = await recorder.waitFor(timeout: .seconds(2)) { _ in recorder.isFinished }
        XCTAssertTrue(finished)
        // Stopping is not an outage.
        XCTAssertEqual(recorder.all, [])
    }

    func testStopBeforeStartFinishesTheStream() async {
        let listener = NotificationListener(conninfo: "host=/nonexistent", channels: [], label: "never")
        let recorder = Recorder(listener)
        listener.stop()
        listener.start()
        let finished = await recorder.waitFor(timeout: .seconds(2)) { _ in recorder.isFinished }
        XCTAssertTrue(finished)
        XCTAssertEqual(recorder.all, [])
    }
}
