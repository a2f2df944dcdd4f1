/// One transaction on a `PostgresConnection`, handed to the body of
/// `PostgresConnection.transaction(label:_:)`; its statements run inside the transaction.
///
/// It owns what the connection itself does not know: whether BEGIN has been sent. BEGIN travels
/// with the transaction's first statement (or pipeline), saving a round trip; a transaction that
/// runs no statement sends nothing at all. A body that decides the work must not be kept calls
/// `rollback()` and returns; nothing it did is committed.
///
/// Not `Sendable`, like its connection, and valid only while the body runs: once the transaction
/// has ended, every statement on it is refused.
public final class Transaction: StatementRunner {
    private enum State {
        /// BEGIN is still to be sent, with the first statement.
        case beginPending
        /// BEGIN was sent: the server has a transaction block open.
        case open
        /// Committed, rolled back, or never begun and over.
        case ended
    }

    private let connection: PostgresConnection
    /// Names the transaction's own statements (BEGIN, COMMIT, ROLLBACK) in errors.
    public let label: String
    private var state = State.beginPending

    init(connection: PostgresConnection, label: String) {
        self.connection = connection
        self.label = label
    }

    /// Whether BEGIN has gone out (and no COMMIT or ROLLBACK yet).
    public var hasBegun: Bool { state == .open }

    @discardableResult
    public func query(_ sql: String, _ params: [String?], label: String) throws(PostgresError) -> QueryResult {
        switch try usable(label) {
        case .beginPending:
            let results = try begin { () throws(PostgresError) in
                try connection.pipeline([.init(sql, params, label: label)], openingTransaction: true)
            }
            return results[0]
        default:
            return try connection.query(sql, params, label: label)
        }
    }

    /// Runs `statements` in one round trip inside the transaction (with BEGIN ahead of them when
    /// they are its first); a failure fails the transaction.
    @discardableResult
    public func pipeline(_ statements: [PostgresConnection.Statement]) throws(PostgresError) -> [QueryResult] {
        guard let first = statements.first else { return [] }
        switch try usable(first.label) {
        case .beginPending:
            return try begin { () throws(PostgresError) in
                try connection.pipeline(statements, openingTransaction: true)
            }
        default:
            return try connection.pipeline(statements)
        }
    }

    /// Runs a script of several statements inside the transaction.
    public func execute(script: String, label: String) throws(PostgresError) {
        let opening = try usable(label) == .beginPending
        try begin { () throws(PostgresError) in
            try connection.execute(script: script, label: label, openingTransaction: opening)
        }
    }

    /// Ends the transaction now, undoing everything it did; the body then returns (its value is
    /// still returned by `transaction`) and nothing is committed. Sends nothing if nothing was sent.
    public func rollback() throws(PostgresError) {
        let wasOpen = try usable(label) == .open
        state = .ended
        if wasOpen { try connection.query("ROLLBACK", [], label: label) }
    }

    // MARK: For PostgresConnection.transaction

    /// The body returned: COMMIT, if BEGIN went out and the body did not roll back.
    func commit() throws(PostgresError) {
        guard state == .open else {
            state = .ended
            return
        }
        state = .ended
        let commit = try connection.query("COMMIT", [], label: label)
        if commit.commandTag == "ROLLBACK" {
            throw PostgresError(
                category: .query, sqlState: nil,
                message: "the transaction was rolled back at COMMIT because one of its statements failed",
                statement: label)
        }
    }

    /// The body threw: ROLLBACK, if BEGIN went out; its own failure would hide the body's error.
    func abandon() {
        let wasOpen = state == .open
        state = .ended
        if wasOpen { _ = try? connection.query("ROLLBACK", [], label: label) }
    }

    /// However the body ended, this transaction takes no more statements.
    func end() {
        state = .ended
    }

    // MARK: Internals

    private func usable(_ label: String) throws(PostgresError) -> State {
        guard state != .ended else {
            throw .invalidInput("the transaction has ended", statement: label)
        }
        return state
    }

    /// Runs `send` (which carries BEGIN when the state says it is pending); from then on the
    /// server has a transaction block open, whether the statements succeeded or not (BEGIN is
    /// the first of them, so a failure after it leaves the block open and aborted).
    private func begin<T>(_ send: () throws(PostgresError) -> T) throws(PostgresError) -> T {
        let wasPending = state == .beginPending
        do {
            let value = try send()
            state = .open
            return value
        } catch {
            if wasPending { state = connection.isIdle ? .beginPending : .open }
            throw error
        }
    }
}

@available(*, unavailable, message: "a transaction is confined to the thread of its connection")
extension Transaction: Sendable {}
