import CLibPQ
import Foundation
import Synchronization

/// Numbers every connection opened by this process.
private let connectionSerials = Atomic<UInt64>(0)

/// One libpq connection.
///
/// Not `Sendable`: every libpq call blocks, so a connection is confined to the one thread that owns
/// it (a `PostgresSession`'s executor thread or a `NotificationListener`'s thread).
///
/// Its statements always run as sent: in autocommit, or inside a transaction block the caller
/// opened. `transaction(label:_:)` hands its body a `Transaction`, which alone knows whether its
/// BEGIN is still to be sent. The rest lives in extensions by job: connecting (`+Connect`),
/// pipelining (`+Pipeline`), statement encoding and the prepared-statement cache (`+Encoding`),
/// what the listener needs (`+Listen`), and leaving COPY (`+Copy`).
public final class PostgresConnection: StatementRunner {
    /// nil once closed.
    private(set) var handle: OpaquePointer?
    /// Referenced by libpq's notice receiver; released only after the handle is finished.
    let noticeBuffer: NoticeBuffer
    /// Statements with parameters prepared on this connection, by SQL text: the server parses
    /// each once and may reuse its plan. Bounded, since texts built at run time would otherwise
    /// pile up; beyond the bound a statement runs unprepared.
    var preparedNames: [String: String] = [:]
    var preparedCount = 0
    /// Whether `transaction` is running its body: transactions do not nest.
    private var inTransaction = false
    /// A descriptor that becomes readable when the owner is shutting down (`PostgresSession`);
    /// from then on a statement still waiting for the server is given `shutdownGrace`, no more.
    var interrupt: Int32 = -1
    /// How long a statement under way may still wait for the server once `interrupt` fired.
    public static let shutdownGrace: Duration = .seconds(3)
    /// Unique among the connections of this process: what a session holds on the server (an
    /// advisory lock) is known to be held as long as the same serial answers.
    public let serial: UInt64

    init(handle: OpaquePointer, noticeBuffer: NoticeBuffer) {
        self.handle = handle
        self.noticeBuffer = noticeBuffer
        self.serial = connectionSerials.add(1, ordering: .relaxed).newValue
    }

    deinit {
        close()
    }

    // MARK: Statements

    /// Runs one statement with text parameters `$1...$n` and returns its rows as text.
    ///
    /// A parameter holding a NUL byte is refused before anything is sent (PostgreSQL text cannot hold
    /// one). `label` names the statement in errors; values never appear there.
    @discardableResult
    public func query(_ sql: String, _ params: [String?], label: String) throws(PostgresError) -> QueryResult {
        let handle = try liveHandle(label)
        let encoded = try encode(Statement(sql, params, label: label), handle: handle)
        do {
            return try consume(exchange(handle, label: label) { encoded.send(handle) }, handle: handle, label: label)
        } catch let error where error.sqlState == "26000" {
            // The server forgot its prepared statements (DISCARD ALL): prepare again. Outside a
            // transaction block the statement is simply run again; inside one, the caller retries it.
            forgetPreparedStatements()
            guard PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            let again = try encode(Statement(sql, params, label: label), handle: handle)
            return try consume(exchange(handle, label: label) { again.send(handle) }, handle: handle, label: label)
        }
    }

    /// One statement of a pipeline.
    public struct Statement: Sendable {
        public let sql: String
        public let params: [String?]
        public let label: String

        public init(_ sql: String, _ params: [String?] = [], label: String) {
            self.sql = sql
            self.params = params
            self.label = label
        }
    }

    /// Runs a script of several statements (a migration) as one implicit transaction, or inside
    /// the transaction block already open.
    public func execute(script: String, label: String) throws(PostgresError) {
        try execute(script: script, label: label, openingTransaction: false)
    }

    /// `execute(script:label:)`, after a BEGIN of its own when `openingTransaction` (a script that
    /// is a `Transaction`'s first statement: a script cannot share a round trip).
    func execute(script: String, label: String, openingTransaction: Bool) throws(PostgresError) {
        let handle = try liveHandle(label)
        guard !script.utf8.contains(0) else {
            throw .invalidInput("the script contains a NUL byte", statement: label)
        }
        if openingTransaction {
            _ = try consume(exchange(handle, label: label) { PQsendQuery(handle, "BEGIN") }, handle: handle, label: label)
        }
        _ = try consume(exchange(handle, label: label) { PQsendQuery(handle, script) }, handle: handle, label: label)
    }

    /// Runs `body` in one transaction, handing it the `Transaction` to run its statements with.
    ///
    /// BEGIN travels with the transaction's first statement (one round trip less); a body that
    /// runs no statement sends nothing. When `body` returns, the transaction commits, unless the
    /// body ended it with `Transaction.rollback()`; when `body` throws, it is rolled back and the
    /// error rethrown unchanged. A COMMIT that the server turns into a rollback (because a
    /// statement in `body` failed and the error was swallowed) throws instead of passing for
    /// success. Statements run on the connection itself meanwhile are not part of the transaction
    /// until its BEGIN went out, and they never carry it. Transactions do not nest.
    public func transaction<T>(
        label: String, _ body: (Transaction) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        guard !inTransaction else {
            throw .invalidInput("a transaction is already running on this connection", statement: label)
        }
        inTransaction = true
        defer { inTransaction = false }
        let transaction = Transaction(connection: self, label: label)
        defer { transaction.end() }
        let value: T
        do {
            value = try body(transaction)
        } catch {
            transaction.abandon()
            throw error
        }
        try transaction.commit()
        return value
    }

    /// Quotes `name` as an SQL identifier.
    public func escapeIdentifier(_ name: String, label: String = "escape identifier") throws(PostgresError) -> String {
        let handle = try liveHandle(label)
        guard !name.utf8.contains(0) else {
            throw .invalidInput("the identifier contains a NUL byte", statement: label)
        }
        guard let escaped = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw .invalidInput(Self.trimmed(PQerrorMessage(handle)), statement: label)
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    // MARK: State

    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server process serving this connection; 0 when closed.
    public var backendPID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// e.g. 150018 for 15.18; 0 when closed.
    public var serverVersion: Int {
        handle.map { Int(PQserverVersion($0)) } ?? 0
    }

    /// Whether the connection is outside any transaction block.
    public var isIdle: Bool {
        guard let handle else { return false }
        return PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// The NOTICEs and WARNINGs received since the last call, as "SEVERITY: message".
    public func takeNotices() -> [String] {
        noticeBuffer.take().map(\.text)
    }

    /// Finishes the connection; safe to call more than once.
    public func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// Why the connection went away: the server's last FATAL message if it sent one (e.g. 57P01 after
    /// `pg_terminate_backend`), otherwise libpq's.
    func lostConnectionError(_ label: String) -> PostgresError {
        if let fatal = noticeBuffer.notices.last(where: { $0.severity == "FATAL" || $0.severity == "PANIC" }) {
            return PostgresError(category: .connection, sqlState: fatal.sqlState, message: fatal.message, statement: label)
        }
        return connectionError(label)
    }

    /// The server dropped its prepared statements (DISCARD ALL, DEALLOCATE): prepare anew.
    func forgetPreparedStatements() {
        preparedNames.removeAll()
    }

    // MARK: Internals

    /// Sends with `send` and returns the command's result as `PQexec` would (the last one; a COPY
    /// result at once), waiting in `poll()` rather than in libpq so that the wait is bounded once
    /// the owner shuts down (see `interrupt`). nil when sending failed or no result came.
    func exchange(_ handle: OpaquePointer, label: String, send: () -> Int32) throws(PostgresError) -> OpaquePointer? {
        guard send() == 1 else { return nil }
        var last: OpaquePointer?
        while let result = try awaitingResult(handle, label: label) {
            PQclear(last)
            last = result
            let status = PQresultStatus(result)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH { break }
            if PQstatus(handle) == CONNECTION_BAD { break }
        }
        return last
    }

    /// `PQgetResult`, after waiting until it would not block. A server that goes silent while
    /// the owner shuts down is given `shutdownGrace`; then the connection is closed.
    func awaitingResult(_ handle: OpaquePointer, label: String) throws(PostgresError) -> OpaquePointer? {
        var wake = interrupt
        var deadline: ContinuousClock.Instant?
        // Whatever is still buffered must reach the server before its answer can be awaited.
        if PQisBusy(handle) != 0 { _ = PQflush(handle) }
        while PQisBusy(handle) != 0 {
            switch SocketWait.wait(fd: PQsocket(handle), events: Int16(POLLIN), wake: wake, deadline: deadline) {
            case .ready:
                // On failure, PQgetResult reports what went wrong.
                guard PQconsumeInput(handle) == 1 else { return PQgetResult(handle) }
            case .woken:
                wake = -1
                deadline = ContinuousClock.now + Self.shutdownGrace
            case .timedOut:
                close()
                throw .connection("no answer from the server while shutting down", statement: label)
            }
        }
        return PQgetResult(handle)
    }

    func liveHandle(_ label: String) throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw .connection("the connection is closed", statement: label) }
        return handle
    }

    func connectionError(_ label: String) -> PostgresError {
        let message = handle.map { Self.trimmed(PQerrorMessage($0)) } ?? ""
        return .connection(message.isEmpty ? "connection failed" : message, statement: label)
    }

    /// Turns a PGresult into rows or an error, and frees it at once.
    func consume(_ result: OpaquePointer?, handle: OpaquePointer, label: String) throws(PostgresError) -> QueryResult {
        // Notifications belong on a NotificationListener; on a query connection they would pile up.
        defer { _ = takeNotifications() }
        guard let result else {
            let error = connectionError(label)
            throw PQstatus(handle) == CONNECTION_OK ? PostgresError(
                category: .query, sqlState: nil, message: error.message, statement: label) : error
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return rows(of: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy(status, handle: handle)
            throw .invalidInput("COPY is not supported by this client", statement: label)
        default:
            throw error(from: result, handle: handle, label: label)
        }
    }

    private func rows(of result: OpaquePointer) -> QueryResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            rows.append(
                (0..<Int32(columnCount)).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                })
        }
        return QueryResult(
            columns: columns,
            rows: rows,
            affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0,
            commandTag: String(cString: PQcmdStatus(result)))
    }

    func error(from result: OpaquePointer, handle: OpaquePointer, label: String) -> PostgresError {
        let field = { (code: Int32) -> String? in
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(DiagnosticField.sqlState)
        var message = field(DiagnosticField.message) ?? Self.trimmed(PQresultErrorMessage(result))
        if message.isEmpty { message = Self.trimmed(PQerrorMessage(handle)) }
        let lost = PQstatus(handle) != CONNECTION_OK || sqlState?.hasPrefix("08") == true
        return PostgresError(
            category: lost ? .connection : .query,
            sqlState: sqlState,
            message: message,
            detail: field(DiagnosticField.detail),
            hint: field(DiagnosticField.hint),
            statement: label)
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }
}

@available(*, unavailable, message: "a connection is confined to the thread that owns it")
extension PostgresConnection: Sendable {}
