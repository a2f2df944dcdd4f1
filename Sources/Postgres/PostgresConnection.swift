import CLibPQ
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection.
///
/// Not `Sendable`: every libpq call blocks, so a connection is confined to the one thread that owns it
/// (a `PostgresSession`'s executor thread or a `NotificationListener`'s thread).
public final class PostgresConnection {
    /// nil once closed.
    private var handle: OpaquePointer?
    /// Referenced by libpq's notice receiver; released only after the handle is finished.
    private let noticeBuffer: NoticeBuffer
    /// Statements with parameters prepared on this connection, by SQL text: the server parses
    /// each once and may reuse its plan. Bounded, since texts built at run time would otherwise
    /// pile up; beyond the bound a statement runs unprepared.
    private var preparedNames: [String: String] = [:]
    private var preparedCount = 0
    /// Inside `transaction`, before its first statement: BEGIN is still to be sent.
    private var beginPending = false
    /// A descriptor that becomes readable when the owner is shutting down (`PostgresSession`);
    /// from then on a statement still waiting for the server is given `shutdownGrace`, no more.
    var interrupt: Int32 = -1
    /// How long a statement under way may still wait for the server once `interrupt` fired.
    public static let shutdownGrace: Duration = .seconds(3)
    private static let maximumPrepared = 128

    private init(handle: OpaquePointer, noticeBuffer: NoticeBuffer) {
        self.handle = handle
        self.noticeBuffer = noticeBuffer
    }

    deinit {
        close()
    }

    // MARK: Connecting

    /// The longest a connection attempt waits, across all of a conninfo's hosts and addresses: a
    /// site whose address accepts connections but never answers (a dead link, a hung server) is
    /// given up on after this, whatever `connect_timeout` says. A smaller `connect_timeout` wins.
    public static let connectLimit: Duration = .seconds(5)

    /// Connects, blocking the calling thread for at most `connectLimit` (or a smaller
    /// `connect_timeout`) in all.
    ///
    /// Defaults the conninfo can override: `connect_timeout=5`, TCP keepalives
    /// (`keepalives_idle=30`, `keepalives_interval=10`, `keepalives_count=3`, so a half-open socket is
    /// noticed), and `applicationName` as `fallback_application_name` (so `application_name` in the
    /// conninfo or `PGAPPNAME` wins). `client_encoding` is always UTF8, because values become Swift
    /// strings.
    public static func connect(
        conninfo: String,
        applicationName: String = "omnisync",
        label: String = "connect"
    ) throws(PostgresError) -> PostgresConnection {
        try open(conninfo: conninfo, applicationName: applicationName, label: label, wake: -1)
    }

    /// Connects with libpq's non-blocking API so that the wait can also end when `wake` becomes
    /// readable (a listener being stopped); and so a notice receiver is in place before the server can
    /// send its first warning.
    static func open(
        conninfo: String,
        applicationName: String,
        label: String,
        wake: Int32
    ) throws(PostgresError) -> PostgresConnection {
        // A malformed conninfo is a configuration error, not a transient connection failure.
        try ConnInfo.validate(conninfo, label: label)
        guard !applicationName.utf8.contains(0) else {
            throw .invalidInput("the application name contains a NUL byte", statement: label)
        }
        do throws(PostgresError) {
            return try start(conninfo: conninfo, applicationName: applicationName, label: label, wake: wake)
        } catch {
            throw error.scrubbing(conninfo)
        }
    }

    private static func start(
        conninfo: String,
        applicationName: String,
        label: String,
        wake: Int32
    ) throws(PostgresError) -> PostgresConnection {
        // Processed in order, later entries winning: the expanded conninfo overrides what comes before it.
        let parameters: [(String, String)] = [
            ("connect_timeout", "5"),
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
            ("keepalives_interval", "10"),
            ("keepalives_count", "3"),
            ("fallback_application_name", applicationName),
            ("dbname", conninfo),
            ("client_encoding", "UTF8"),
        ]
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let start = PQconnectStartParams(
            keywords.map { UnsafePointer($0) } + [nil],
            values.map { UnsafePointer($0) } + [nil],
            1
        )
        guard let handle = start else {
            throw .connection("out of memory while connecting", statement: label)
        }
        let noticeBuffer = NoticeBuffer()
        NoticeBuffer.install(noticeBuffer, on: handle)
        // From here on, deinit finishes the handle on every path.
        let connection = PostgresConnection(handle: handle, noticeBuffer: noticeBuffer)
        guard PQstatus(handle) != CONNECTION_BAD else {
            throw connection.connectionError(label)
        }
        // One deadline for the whole attempt: libpq's own connect_timeout counts per host and
        // address, so a name with several addresses (or several hosts) would multiply it.
        let deadline = ContinuousClock.now + connectTimeout(handle)
        var status = PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                return connection
            case PGRES_POLLING_FAILED:
                throw connection.connectionError(label)
            default:
                let socket = PQsocket(handle)
                let events = Int16(status == PGRES_POLLING_READING ? POLLIN : POLLOUT)
                switch SocketWait.wait(fd: socket, events: events, wake: wake, deadline: deadline) {
                case .ready:
                    break
                case .woken:
                    throw .connection("connection attempt abandoned", statement: label)
                case .timedOut:
                    throw .connection("timeout expired while connecting", statement: label)
                }
            }
            status = PQconnectPoll(handle)
        }
    }

    /// How long the whole attempt may take: `connect_timeout` with libpq's rules (minimum 2 s; unset
    /// or ≤ 0 would wait forever), never more than `connectLimit`.
    private static func connectTimeout(_ handle: OpaquePointer) -> Duration {
        guard let options = PQconninfo(handle) else { return connectLimit }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "connect_timeout" {
                guard let value = option.pointee.val, let seconds = Int(String(cString: value)), seconds > 0
                else { return connectLimit }
                return min(.seconds(max(2, seconds)), connectLimit)
            }
            option += 1
        }
        return connectLimit
    }

    // MARK: Queries

    /// Runs one statement with text parameters `$1...$n` and returns its rows as text.
    ///
    /// A parameter holding a NUL byte is refused before anything is sent (PostgreSQL text cannot hold
    /// one). `label` names the statement in errors; values never appear there.
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = [], label: String) throws(PostgresError) -> QueryResult {
        if beginPending {
            return try pipeline([Statement(sql, params, label: label)])[0]
        }
        let handle = try liveHandle(label)
        let encoded = try encode(Statement(sql, params, label: label), handle: handle)
        do {
            return try consume(exchange(handle, label: label) { encoded.send(handle) }, handle: handle, label: label)
        } catch let error where error.sqlState == "26000" {
            // The server forgot its prepared statements (DISCARD ALL): prepare again. Outside a
            // transaction the statement is simply run again; inside one, the caller retries it.
            preparedNames.removeAll()
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

    /// Runs `statements` in one round trip (libpq pipeline mode) and returns their results in
    /// order. The server runs them one after another, each with its own snapshot, as separate
    /// calls would; the first failure is thrown, and the statements after it do not run. Outside
    /// a transaction the pipeline is one implicit transaction, so a failure undoes all of it.
    public func pipeline(_ statements: [Statement]) throws(PostgresError) -> [QueryResult] {
        guard let first = statements.first else { return [] }
        let handle = try liveHandle(first.label)
        let withBegin = beginPending
        beginPending = false
        var all = statements
        if withBegin { all.insert(Statement("BEGIN", label: first.label), at: 0) }
        var encoded: [EncodedStatement] = []
        encoded.reserveCapacity(all.count)
        for statement in all {
            encoded.append(try encode(statement, handle: handle))
        }
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError(first.label) }
        var sent = 0
        for item in encoded {
            guard item.send(handle) == 1 else { break }
            sent += 1
        }
        let synced = PQpipelineSync(handle) == 1
        var results: [QueryResult] = []
        var failure: PostgresError?
        for index in 0..<sent {
            // Each statement's results end with a null; after a failure the rest report ABORTED.
            while let result = try awaitingResult(handle, label: all[index].label) {
                if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                    continue
                }
                do {
                    let rows = try consume(result, handle: handle, label: all[index].label)
                    if failure == nil { results.append(rows) }
                } catch {
                    if failure == nil { failure = error }
                }
            }
        }
        if synced {
            while let result = try awaitingResult(handle, label: first.label) {
                let status = PQresultStatus(result)
                PQclear(result)
                if status == PGRES_PIPELINE_SYNC { break }
            }
        }
        if PQexitPipelineMode(handle) != 1 {
            // Still busy: the connection is in an unknown state, so it is not used again.
            let error = lostConnectionError(first.label)
            close()
            throw error
        }
        if let failure {
            if failure.sqlState == "26000" { preparedNames.removeAll() }
            throw failure
        }
        guard sent == all.count, synced, results.count == all.count else { throw lostConnectionError(first.label) }
        return withBegin ? Array(results.dropFirst()) : results
    }

    /// A statement's parameters in one buffer, each NUL-terminated (one allocation), and the
    /// name it is prepared under, if it is.
    private struct EncodedStatement {
        let sql: String
        let storage: [CChar]
        let offsets: [Int?]
        let preparedName: String?

        private func withValues<T>(_ body: ([UnsafePointer<CChar>?]) -> T) -> T {
            storage.withUnsafeBufferPointer { buffer in
                body(offsets.map { offset in
                    guard let offset, let base = buffer.baseAddress else { return nil }
                    return base + offset
                })
            }
        }

        func send(_ handle: OpaquePointer) -> Int32 {
            withValues { values in
                if let preparedName {
                    return PQsendQueryPrepared(handle, preparedName, Int32(values.count), values, nil, nil, 0)
                }
                return PQsendQueryParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
        }
    }

    private func encode(_ statement: Statement, handle: OpaquePointer) throws(PostgresError) -> EncodedStatement {
        let (sql, params, label) = (statement.sql, statement.params, statement.label)
        // A prepared text was checked when it was prepared.
        guard (!params.isEmpty && preparedNames[sql] != nil) || !sql.utf8.contains(0) else {
            throw .invalidInput("the SQL text contains a NUL byte", statement: label)
        }
        guard params.count <= Self.maximumParameters else {
            throw .invalidInput(
                "\(params.count) parameters exceed the protocol's limit of \(Self.maximumParameters); pass arrays instead",
                statement: label)
        }
        var storage: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(params.count)
        storage.reserveCapacity(params.reduce(params.count) { $0 + ($1?.utf8.count ?? 0) })
        for (index, param) in params.enumerated() {
            guard let param else {
                offsets.append(nil)
                continue
            }
            offsets.append(storage.count)
            for byte in param.utf8 {
                guard byte != 0 else {
                    throw .invalidInput(
                        "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot hold",
                        statement: label)
                }
                storage.append(CChar(bitPattern: byte))
            }
            storage.append(0)
        }
        let name = params.isEmpty ? nil : try preparedName(sql, handle: handle, label: label)
        return EncodedStatement(sql: sql, storage: storage, offsets: offsets, preparedName: name)
    }

    /// The name `sql` is prepared under, preparing it first if needed; nil when the cache is full.
    private func preparedName(_ sql: String, handle: OpaquePointer, label: String) throws(PostgresError) -> String? {
        if let name = preparedNames[sql] { return name }
        guard preparedNames.count < Self.maximumPrepared else { return nil }
        preparedCount += 1
        let name = "omnisync_\(preparedCount)"
        _ = try consume(exchange(handle, label: label) { PQsendPrepare(handle, name, sql, 0, nil) }, handle: handle, label: label)
        preparedNames[sql] = name
        return name
    }

    /// Runs a script of several statements (a migration) as one implicit transaction.
    public func execute(script: String, label: String) throws(PostgresError) {
        let handle = try liveHandle(label)
        guard !script.utf8.contains(0) else {
            throw .invalidInput("the script contains a NUL byte", statement: label)
        }
        if beginPending {
            beginPending = false
            _ = try consume(exchange(handle, label: label) { PQsendQuery(handle, "BEGIN") }, handle: handle, label: label)
        }
        _ = try consume(exchange(handle, label: label) { PQsendQuery(handle, script) }, handle: handle, label: label)
    }

    /// Runs `body` between BEGIN and COMMIT; rolls back and rethrows when `body` throws.
    ///
    /// BEGIN travels with the transaction's first statement (one round trip less); a body that
    /// runs no statement sends nothing. A COMMIT that the server turns into a rollback (because a
    /// statement in `body` failed and the error was swallowed) throws instead of passing for success.
    public func transaction<T>(label: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        beginPending = true
        let value: T
        do {
            value = try body(self)
        } catch {
            if beginPending {
                beginPending = false
            } else {
                rollback(label: label)
            }
            throw error
        }
        if beginPending {
            beginPending = false
            return value
        }
        let commit = try query("COMMIT", label: label)
        if commit.commandTag == "ROLLBACK" {
            throw PostgresError(
                category: .query, sqlState: nil,
                message: "the transaction was rolled back at COMMIT because one of its statements failed",
                statement: label)
        }
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

    // MARK: For the listener

    var socket: Int32 {
        handle.map { PQsocket($0) } ?? -1
    }

    /// Reads whatever the server has sent; false when the connection is lost.
    func consumeInput() -> Bool {
        guard let handle else { return false }
        return PQconsumeInput(handle) == 1 && PQstatus(handle) == CONNECTION_OK
    }

    /// Notifications already read from the socket, in arrival order.
    func takeNotifications() -> [(channel: String, payload: String)] {
        guard let handle else { return [] }
        var notifications: [(channel: String, payload: String)] = []
        while let notify = PQnotifies(handle) {
            notifications.append((String(cString: notify.pointee.relname), String(cString: notify.pointee.extra)))
            PQfreemem(notify)
        }
        return notifications
    }

    /// Sends `sql` and waits for all its results without blocking in libpq, so that `wake` can end the
    /// wait. Returns false when woken.
    func run(_ sql: String, label: String, wake: Int32, timeout: Duration) throws(PostgresError) -> Bool {
        let handle = try liveHandle(label)
        guard PQsendQuery(handle, sql) == 1 else { throw connectionError(label) }
        let deadline = ContinuousClock.now + timeout
        var firstError: PostgresError?
        while true {
            while PQisBusy(handle) != 0 {
                switch SocketWait.wait(fd: PQsocket(handle), events: Int16(POLLIN), wake: wake, deadline: deadline) {
                case .ready:
                    guard PQconsumeInput(handle) == 1 else { throw connectionError(label) }
                case .woken:
                    return false
                case .timedOut:
                    throw .connection("timeout expired waiting for the server", statement: label)
                }
            }
            guard let result = PQgetResult(handle) else { break }
            let status = PQresultStatus(result)
            if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && firstError == nil {
                firstError = error(from: result, handle: handle, label: label)
            }
            PQclear(result)
        }
        if let firstError { throw firstError }
        return true
    }

    /// Why the connection went away: the server's last FATAL message if it sent one (e.g. 57P01 after
    /// `pg_terminate_backend`), otherwise libpq's.
    func lostConnectionError(_ label: String) -> PostgresError {
        if let fatal = noticeBuffer.notices.last(where: { $0.severity == "FATAL" || $0.severity == "PANIC" }) {
            return PostgresError(category: .connection, sqlState: fatal.sqlState, message: fatal.message, statement: label)
        }
        return connectionError(label)
    }

    // MARK: Internals

    private static let maximumParameters = 65535

    /// Sends with `send` and returns the command's result as `PQexec` would (the last one; a COPY
    /// result at once), waiting in `poll()` rather than in libpq so that the wait is bounded once
    /// the owner shuts down (see `interrupt`). nil when sending failed or no result came.
    private func exchange(_ handle: OpaquePointer, label: String, send: () -> Int32) throws(PostgresError) -> OpaquePointer? {
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
    private func awaitingResult(_ handle: OpaquePointer, label: String) throws(PostgresError) -> OpaquePointer? {
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

    private func liveHandle(_ label: String) throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw .connection("the connection is closed", statement: label) }
        return handle
    }

    private func connectionError(_ label: String) -> PostgresError {
        let message = handle.map { Self.trimmed(PQerrorMessage($0)) } ?? ""
        return .connection(message.isEmpty ? "connection failed" : message, statement: label)
    }

    /// Turns a PGresult into rows or an error, and frees it at once.
    private func consume(_ result: OpaquePointer?, handle: OpaquePointer, label: String) throws(PostgresError) -> QueryResult {
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

    private func error(from result: OpaquePointer, handle: OpaquePointer, label: String) -> PostgresError {
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

    /// Leaves COPY mode so the connection stays usable.
    private func abandonCopy(_ status: ExecStatusType, handle: OpaquePointer) {
        switch status {
        case PGRES_COPY_IN:
            _ = PQputCopyEnd(handle, "COPY is not supported by this client")
        case PGRES_COPY_OUT:
            var buffer: UnsafeMutablePointer<CChar>?
            while PQgetCopyData(handle, &buffer, 0) > 0 {
                PQfreemem(buffer)
                buffer = nil
            }
        default:
            // COPY BOTH (replication) cannot be left cleanly.
            close()
            return
        }
        while let result = PQgetResult(handle) { PQclear(result) }
    }

    private func rollback(label: String) {
        _ = try? query("ROLLBACK", label: label)
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }
}

@available(*, unavailable, message: "a connection is confined to the thread that owns it")
extension PostgresConnection: Sendable {}
