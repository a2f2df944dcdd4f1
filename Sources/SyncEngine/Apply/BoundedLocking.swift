import Postgres

/// Taking row locks at a target without waiting on its applications: a till's open transaction
/// must never hold a batch up, yet another writer's short transaction (a sale, another daemon's
/// batch) is worth a brief wait. Both appliers lock through these.
enum BoundedLocking {
    /// How long a statement may wait on a row lock it has not seen held before: long enough
    /// for another writer's short transaction to finish, far too short for a till's open
    /// transaction to hold the batch up.
    static let contendedLockTimeout = "50ms"

    private static func isLockTimeout(_ error: PostgresError) -> Bool { error.sqlState == "55P03" }

    /// Runs `statements` inside a savepoint with a short `lock_timeout` and returns their results;
    /// nil when one timed out (the savepoint is rolled back, which also restores the session's
    /// `lock_timeout` and releases whatever the statements had locked).
    static func boundedWait(
        _ connection: some StatementRunner, _ statements: [PostgresConnection.Statement]
    ) throws(PostgresError) -> [QueryResult]? {
        let label = statements.first?.label ?? "bounded wait"
        do {
            let results = try connection.pipeline(
                [
                    .init("SAVEPOINT omnisync_lock", label: label),
                    .init("SET LOCAL lock_timeout = '\(contendedLockTimeout)'", label: label),
                ] + statements + [
                    .init("SET LOCAL lock_timeout = '\(SiteHandle.lockTimeout)'", label: label),
                    .init("RELEASE SAVEPOINT omnisync_lock", label: label),
                ])
            return Array(results[2..<(2 + statements.count)])
        } catch {
            guard isLockTimeout(error) else { throw error }
            _ = try connection.pipeline([
                .init("ROLLBACK TO SAVEPOINT omnisync_lock", label: label),
                .init("RELEASE SAVEPOINT omnisync_lock", label: label),
            ])
            return nil
        }
    }

    /// Runs `statements(keys)` (inserts of rows the target lacks, and whatever must read them)
    /// under `boundedWait`. An insert waits for another transaction inserting (or having changed)
    /// the same key until that one ends, so a group that times out is halved until the keys
    /// that made it wait are alone, and those are left out. Returns each group that ran with
    /// its results.
    static func insertHalving<Key>(
        _ connection: some StatementRunner, keys: [Key], statements: ([Key]) -> [PostgresConnection.Statement]
    ) throws(PostgresError) -> [(keys: [Key], results: [QueryResult])] {
        guard !keys.isEmpty else { return [] }
        if let results = try boundedWait(connection, statements(keys)) { return [(keys, results)] }
        guard keys.count > 1 else { return [] }
        let half = keys.count / 2
        return try insertHalving(connection, keys: Array(keys[..<half]), statements: statements)
            + insertHalving(connection, keys: Array(keys[half...]), statements: statements)
    }

    /// Locks rows that were held a moment ago: `waiting` (which waits on the locks) gets one
    /// short wait; when that times out, `noWait` (SKIP LOCKED) takes those free by now.
    static func lockBriefly(
        _ connection: some StatementRunner, waiting: [PostgresConnection.Statement], noWait: [PostgresConnection.Statement]
    ) throws(PostgresError) -> [QueryResult] {
        if let results = try boundedWait(connection, waiting) { return results }
        return try connection.pipeline(noWait)
    }
}
