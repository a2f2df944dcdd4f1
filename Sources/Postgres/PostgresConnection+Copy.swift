import CLibPQ

/// COPY is not supported: a statement that starts one is refused and the connection left usable.
extension PostgresConnection {
    /// Leaves COPY mode so the connection stays usable.
    func abandonCopy(_ status: ExecStatusType, handle: OpaquePointer) {
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
    }}
