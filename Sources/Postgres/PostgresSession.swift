import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A lazily (re)connected connection, owned by an actor whose executor is a dedicated OS thread.
///
/// Blocking libpq calls therefore never run on Swift's cooperative pool. Each `withConnection` call
/// is meant to start and end outside a transaction block (use `PostgresConnection.transaction(label:_:)`).
public actor PostgresSession {
    private let executor: ThreadExecutor
    private let conninfo: String
    private let label: String
    private let applicationName: String
    private let setup: [String]
    private var connection: PostgresConnection?
    /// The last failed connect: callers queued behind it fail at once instead of each waiting
    /// out another attempt against a site that does not answer.
    private var lastFailure: (at: ContinuousClock.Instant, error: PostgresError)?
    private nonisolated let shutdown = ShutdownSignal()

    /// How long a failed connect is not tried again.
    public static let retryPause: Duration = .seconds(1)

    /// Successful connects so far; more than one means reconnects.
    public private(set) var connects = 0

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// - Parameters:
    ///   - label: names the session in errors and its thread's name.
    ///   - setup: statements run after every (re)connect, e.g. `SET omnisync.applying = 'on'`.
    public init(conninfo: String, label: String, applicationName: String = "omnisync", setup: [String] = []) {
        self.executor = ThreadExecutor(name: "pg \(label)")
        self.conninfo = conninfo
        self.label = label
        self.applicationName = applicationName
        self.setup = setup
    }

    /// Runs `body` on the connection, connecting first if needed.
    ///
    /// When `body` throws a `.connection` error or leaves the connection broken, the connection is
    /// dropped and the next call reconnects. A transaction left open by `body` is rolled back.
    /// Errors are rethrown unchanged.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = try connected()
        do {
            let value = try body(connection)
            settle(connection)
            return value
        } catch let error as PostgresError where error.category == .connection {
            disconnect()
            throw error
        } catch {
            settle(connection)
            throw error
        }
    }

    public var isConnected: Bool {
        connection?.isConnected ?? false
    }

    public func disconnect() {
        connection?.close()
        connection = nil
    }

    /// For shutdown; callable from any thread, at once. A connect under way is abandoned and no new
    /// one is made; a statement under way still gets `PostgresConnection.shutdownGrace` to finish
    /// (the batch it belongs to commits), after which a silent server's connection is closed.
    public nonisolated func interrupt() {
        shutdown.fire()
    }

    private func connected() throws(PostgresError) -> PostgresConnection {
        if let connection, connection.isConnected { return connection }
        disconnect()
        let connectLabel = "\(label) connect"
        if shutdown.isFired {
            throw .connection("not connecting: shutting down", statement: connectLabel)
        }
        if let lastFailure, ContinuousClock.now - lastFailure.at < Self.retryPause {
            throw lastFailure.error
        }
        let fresh: PostgresConnection
        do {
            fresh = try PostgresConnection.open(
                conninfo: conninfo, applicationName: applicationName, label: connectLabel, wake: shutdown.readEnd)
        } catch {
            if error.category == .connection { lastFailure = (ContinuousClock.now, error) }
            throw error
        }
        lastFailure = nil
        fresh.interrupt = shutdown.readEnd
        for statement in setup {
            try fresh.query(statement, label: "\(label) setup")
        }
        connection = fresh
        connects += 1
        return fresh
    }

    /// Leaves the connection ready for the next call, or drops it.
    private func settle(_ connection: PostgresConnection) {
        if connection.isConnected, !connection.isIdle {
            _ = try? connection.query("ROLLBACK", label: "\(label) rollback")
        }
        if !connection.isConnected || !connection.isIdle {
            disconnect()
        }
    }
}

/// A pipe whose read end becomes readable, for good, once fired: what a thread blocked in `poll()`
/// on a connection also watches, so that shutdown does not wait for a silent server.
final class ShutdownSignal: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32
    private let fired = Atomic(false)

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        } else {
            // Without a pipe only new connects are refused; one under way runs to its deadline.
            fds = [-1, -1]
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        if readEnd >= 0 { close(readEnd) }
        if writeEnd >= 0 { close(writeEnd) }
    }

    var isFired: Bool { fired.load(ordering: .acquiring) }

    func fire() {
        guard !fired.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if writeEnd >= 0 { _ = write(writeEnd, "x", 1) }
    }
}
