import CLibPQ

#if canImport(Glibc)
    import Glibc
#endif

/// What a `NotificationListener` needs of its connection: the socket to wait on, input to read,
/// notifications to take, and statements (LISTEN) whose wait another descriptor can end.
extension PostgresConnection {
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
}
