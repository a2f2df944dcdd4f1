import CLibPQ

/// Pipelining: several statements in one round trip.
extension PostgresConnection {
    /// Runs `statements` in one round trip (libpq pipeline mode) and returns their results in
    /// order. The server runs them one after another, each with its own snapshot, as separate
    /// calls would; the first failure is thrown, and the statements after it do not run. Outside
    /// a transaction block the pipeline is one implicit transaction, so a failure undoes all of it.
    @discardableResult
    public func pipeline(_ statements: [Statement]) throws(PostgresError) -> [QueryResult] {
        try pipeline(statements, openingTransaction: false)
    }

    /// `pipeline`, with a BEGIN sent ahead of `statements` in the same round trip when
    /// `openingTransaction` (a `Transaction`'s first statements); BEGIN's result is not returned.
    func pipeline(_ statements: [Statement], openingTransaction: Bool) throws(PostgresError) -> [QueryResult] {
        guard let first = statements.first else { return [] }
        let handle = try liveHandle(first.label)
        var all = statements
        if openingTransaction { all.insert(Statement("BEGIN", label: first.label), at: 0) }
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
            if failure.sqlState == "26000" { forgetPreparedStatements() }
            throw failure
        }
        guard sent == all.count, synced, results.count == all.count else { throw lostConnectionError(first.label) }
        return openingTransaction ? Array(results.dropFirst()) : results
    }
}
