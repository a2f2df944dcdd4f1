import CLibPQ
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// LISTENs on channels over a dedicated connection and thread, and reports what happens as events.
///
/// The thread sleeps in `poll()` on the connection's socket and a wake-up pipe: no busy polling, and
/// `stop()` is prompt even while connecting. A lost connection (terminated backend, server restart)
/// is re-established with capped exponential backoff and the channels are listened to again.
/// Notifications sent while disconnected are lost: treat `.connected` as "look now" too.
public final class NotificationListener: Sendable {
    public enum Event: Sendable, Equatable {
        /// Connected and listening (again).
        case connected
        case notification(channel: String, payload: String)
        /// The connection was lost or could not be made; emitted once per outage, not once per retry.
        case disconnected(PostgresError)
    }

    /// Notifications are only wake-ups, so a consumer that falls behind loses the oldest, never blocks
    /// the listener (a listener that stops draining would eventually make every NOTIFY fail).
    public let events: AsyncStream<Event>

    private let worker: Worker
    private let wakeWrite: Int32
    private let phase = Mutex(Phase.idle)

    private enum Phase {
        case idle
        case running(finished: DispatchSemaphore)
        case stopped
    }

    /// - Parameters:
    ///   - label: names the listener in errors and its thread's name.
    public init(
        conninfo: String,
        channels: [String],
        label: String,
        applicationName: String = "omnisync",
        backoff: Backoff = Backoff()
    ) {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1024))
        self.events = events
        var fds: [Int32] = [-1, -1]
        var pipeError: String?
        if pipe(&fds) == 0 {
            // Not inherited by spawned processes; a full pipe must never block stop().
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        } else {
            pipeError = String(cString: strerror(errno))
        }
        self.wakeWrite = fds[1]
        self.worker = Worker(
            conninfo: conninfo, channels: channels, label: label, applicationName: applicationName,
            backoff: backoff, continuation: continuation, wake: fds[0], pipeError: pipeError)
    }

    deinit {
        // Ends a thread nobody stopped; its worker closes the read end.
        worker.requestStop()
        worker.continuation.finish()
        if wakeWrite >= 0 {
            _ = write(wakeWrite, "x", 1)
            Glibc.close(wakeWrite)
        }
    }

    /// Starts the listening thread; does nothing after the first call.
    public func start() {
        phase.withLock { phase in
            guard case .idle = phase else { return }
            let finished = DispatchSemaphore(value: 0)
            let worker = self.worker
            let thread = Thread {
                worker.run()
                finished.signal()
            }
            thread.start()
            phase = .running(finished: finished)
        }
    }

    /// Wakes the thread, waits for it to end, and finishes `events`. Idempotent.
    public func stop() {
        let finished = phase.withLock { phase -> DispatchSemaphore? in
            defer { phase = .stopped }
            if case .running(let finished) = phase { return finished }
            return nil
        }
        worker.requestStop()
        if wakeWrite >= 0 { _ = write(wakeWrite, "x", 1) }
        finished?.wait()
        worker.continuation.finish()
    }
}

extension NotificationListener {
    /// Everything the listening thread uses; the connection itself lives only on that thread's stack.
    final class Worker: Sendable {
        let conninfo: String
        let channels: [String]
        let label: String
        let applicationName: String
        let backoff: Backoff
        let continuation: AsyncStream<Event>.Continuation
        let wake: Int32
        let pipeError: String?
        private let stopping = Atomic(false)

        /// Bounds a LISTEN round trip; the connect itself is bounded by `PostgresConnection.connectLimit`.
        private static let listenTimeout: Duration = .seconds(30)

        init(
            conninfo: String, channels: [String], label: String, applicationName: String,
            backoff: Backoff, continuation: AsyncStream<Event>.Continuation, wake: Int32, pipeError: String?
        ) {
            self.conninfo = conninfo
            self.channels = channels
            self.label = label
            self.applicationName = applicationName
            self.backoff = backoff
            self.continuation = continuation
            self.wake = wake
            self.pipeError = pipeError
        }

        deinit {
            if wake >= 0 { close(wake) }
        }

        func requestStop() {
            stopping.store(true, ordering: .releasing)
        }

        private var isStopping: Bool {
            stopping.load(ordering: .acquiring)
        }

        func run() {
            _ = omnisync_set_thread_name("listen \(label)")
            defer { continuation.finish() }
            if let pipeError {
                continuation.yield(.disconnected(.connection("cannot create a wake-up pipe: \(pipeError)", statement: label)))
                return
            }
            var attempt = 0
            var reportedDown = false
            while !isStopping {
                do {
                    let connection = try PostgresConnection.open(
                        conninfo: conninfo, applicationName: applicationName, label: label, wake: wake)
                    guard try listen(on: connection) else { return }
                    attempt = 0
                    reportedDown = false
                    continuation.yield(.connected)
                    guard let lost = serve(connection) else { return }
                    continuation.yield(.disconnected(lost))
                    reportedDown = true
                } catch {
                    if isStopping { return }
                    if !reportedDown {
                        continuation.yield(.disconnected(error))
                        reportedDown = true
                    }
                }
                let delay = backoff.delay(attempt: attempt)
                attempt += 1
                let deadline = ContinuousClock.now + .milliseconds(Int64((delay * 1000).rounded()))
                if SocketWait.wait(fd: -1, events: 0, wake: wake, deadline: deadline) == .woken { return }
            }
        }

        /// LISTENs on every channel; false when stopped meanwhile.
        private func listen(on connection: PostgresConnection) throws(PostgresError) -> Bool {
            guard !channels.isEmpty else { return true }
            var sql = ""
            for channel in channels {
                sql += "LISTEN \(try connection.escapeIdentifier(channel, label: label));"
            }
            return try connection.run(sql, label: label, wake: wake, timeout: Self.listenTimeout)
        }

        /// Delivers notifications until the connection is lost (returns why) or the listener stops (nil).
        private func serve(_ connection: PostgresConnection) -> PostgresError? {
            while true {
                // Drain after every read: libpq may already hold notifications the socket won't signal again.
                deliver(connection.takeNotifications())
                switch SocketWait.wait(fd: connection.socket, events: Int16(POLLIN), wake: wake, deadline: nil) {
                case .woken:
                    return nil
                case .ready, .timedOut:
                    if !connection.consumeInput() {
                        deliver(connection.takeNotifications())
                        return connection.lostConnectionError(label)
                    }
                }
            }
        }

        private func deliver(_ notifications: [(channel: String, payload: String)]) {
            for (channel, payload) in notifications {
                continuation.yield(.notification(channel: channel, payload: payload))
            }
        }
    }
}
