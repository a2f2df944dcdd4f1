import Postgres

/// Changes of a source not yet applied at a target, measured at the source against the
/// target's stored cursor.
struct Backlog: Sendable, Equatable {
    var undelivered: Int
    /// Age in seconds of the oldest undelivered change; nil when there is none.
    var oldestAgeSeconds: Double?

    static let query = """
        SELECT count(*), extract(epoch FROM now() - min(created_at))::float8::text FROM omnisync.outbox
        WHERE txid >= pg_snapshot_xmin($1::pg_snapshot)
          AND NOT pg_visible_in_snapshot(txid, $1::pg_snapshot)
          AND NOT ($2::pg_snapshot IS NOT NULL AND pg_visible_in_snapshot(txid, $2::pg_snapshot)
                   AND (txid, id) <= ($3::xid8, $4::bigint))
        """

    /// `cursor` nil: the target has never received anything, so the whole outbox counts.
    static func measure(_ connection: some StatementRunner, cursor: LinkCursor?) throws(PostgresError) -> Backlog {
        let position = cursor ?? .origin
        let result = try connection.query(
            query,
            [position.done, position.window, position.windowTxid ?? "0", String(position.windowID ?? 0)],
            label: "measure backlog")
        let row = result.rows.first
        return Backlog(undelivered: Int(row?[0] ?? "") ?? 0, oldestAgeSeconds: row?[1].flatMap { Double($0) })
    }
}
