import CLibPQ
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Connecting: libpq's non-blocking connect, polled with one deadline for the whole attempt.
extension PostgresConnection {
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
    }}
