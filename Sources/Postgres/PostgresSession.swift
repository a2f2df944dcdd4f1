/// A lazily (re)connected connection, owned by an actor whose executor is a dedicated OS thread.
///
/// Blocking libpq calls therefore never run on Swift's cooperative pool. Each `withConnection` call
/// is meant to start and end outside a transaction block (use `PostgresConnection.transaction`).
public actor PostgresSession {
    private let executor: ThreadExecutor
    private let conninfo: String
    private let label: String
    private let applicationName: String
    private let setup: [String]
    private var connection: PostgresConnection?

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

    private func connected() throws(PostgresError) -> PostgresConnection {
        if let connection, connection.isConnected { return connection }
        disconnect()
        let fresh = try PostgresConnection.connect(
            conninfo: conninfo, applicationName: applicationName, label: "\(label) connect")
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
