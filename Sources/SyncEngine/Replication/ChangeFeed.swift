import Catalog
import MergeCore
import Postgres

/// One outbox record: a local transaction changed the row `key` of `table`.
struct OutboxRecord: Sendable {
    let txid: String
    let id: Int64
    let tableID: Int
    let key: RowKey
}

/// A batch of changes read from a source: the latest state of every row its records name,
/// many changes to one row coalesced into one.
struct ChangeBatch: Sendable {
    var states: [ReplicatedTable: [RowKey: RowState]] = [:]
    /// The states of rows of tables whose capture is generated (`GeneratedTables`), by table id,
    /// each key as its columns' text in key order.
    var declared: [Int: [[String]: [StateField]]] = [:]
    /// Records that cannot be shipped (unknown table, unreadable key or state), with the reason.
    var rejected: [(record: OutboxRecord, reason: String)] = []
    /// One target's share (`RouteShares`): keys of `declared` routed away from the target, applied
    /// only where it already holds the row's state (it wrote the row), passed over elsewhere.
    var heldOnly: [Int: Set<[String]>] = [:]
    /// Keys of `declared` whose source is not routed the row: where the target's join holds more
    /// than the source sent, the target records the row in its outbox again, for the source.
    var returnIfAhead: [Int: Set<[String]>] = [:]
    /// Tables routed by a follow: a key held only that the target follows — as its
    /// `omnisync.follows` says within the apply's own transaction — is taken in all the same.
    var followed: [Int: FollowedRoute] = [:]
    /// The same three marks for v1's tables (`heldOnly`, `returnIfAhead`, `followed`):
    /// `retail.stock` and `retail.cart_items` routed by location or by a follow.
    var heldOnlyRows: [ReplicatedTable: Set<RowKey>] = [:]
    var returnIfAheadRows: [ReplicatedTable: Set<RowKey>] = [:]
    var followedRows: [ReplicatedTable: FollowedRoute] = [:]
    /// The target is a hub and the source is not: the rows this batch changes at the target that
    /// other sites need (`RelayRule`) are recorded in its outbox again, and its links take them
    /// there, so that two sites that are not hubs need no link between them.
    var relay: RelayRule?

    var rowCount: Int { states.values.reduce(0) { $0 + $1.count } + declared.values.reduce(0) { $0 + $1.count } }
    var isEmpty: Bool { states.isEmpty && declared.isEmpty && rejected.isEmpty }
}

/// A table's follow route as the applier checks it: the namespace, and the key column holding the value.
struct FollowedRoute: Sendable, Equatable {
    let namespace: String
    let keyColumn: Int
}

/// A page of the outbox and the cursor to store once it is applied.
struct ChangePage: Sendable {
    let records: [OutboxRecord]
    let batch: ChangeBatch
    let next: LinkCursor
}

/// Reads a source site's committed changes in commit-visibility order (schema/0003_capture.sql).
enum ChangeFeed {
    static let pageQuery = """
        SELECT NULL, o.txid::text, o.id, o.table_id, o.k1, o.k2, o.row_key FROM omnisync.outbox AS o
        WHERE o.txid >= pg_snapshot_xmin($1::pg_snapshot)
          AND o.txid < pg_snapshot_xmax($2::pg_snapshot)
          AND (o.txid, o.id) > ($3::xid8, $4::bigint)
          AND NOT pg_visible_in_snapshot(o.txid, $1::pg_snapshot)
          AND pg_visible_in_snapshot(o.txid, $2::pg_snapshot)
        ORDER BY o.txid, o.id
        LIMIT $5::int
        """

    /// Opens a window (the source's current snapshot) and reads its first page in one round trip;
    /// the snapshot comes back in the first column of every row (one row of NULLs when empty).
    static let firstPageQuery = """
        WITH w AS (SELECT pg_current_snapshot() AS s)
        SELECT w.s::text, o.txid::text, o.id, o.table_id, o.k1, o.k2, o.row_key
        FROM w LEFT JOIN LATERAL (
            SELECT txid, id, table_id, k1, k2, row_key FROM omnisync.outbox
            WHERE txid >= pg_snapshot_xmin($1::pg_snapshot)
              AND txid < pg_snapshot_xmax(w.s)
              AND NOT pg_visible_in_snapshot(txid, $1::pg_snapshot)
              AND pg_visible_in_snapshot(txid, w.s)
            ORDER BY txid, id
            LIMIT $2::int
        ) AS o ON true
        ORDER BY o.txid, o.id
        """

    /// Reads the next page after `cursor`, opening a new window (a fresh snapshot of the source)
    /// when the previous one is complete.
    static func readPage(
        _ connection: some StatementRunner, after cursor: LinkCursor, limit: Int, tables: GeneratedTables
    ) throws(PostgresError) -> ChangePage {
        var window = cursor
        let result: QueryResult
        if window.window == nil {
            result = try connection.query(firstPageQuery, [window.done, String(limit)], label: "read outbox page")
            window.window = result.rows.first?[0] ?? cursor.done
            window.windowTxid = "0"
            window.windowID = 0
        } else {
            result = try connection.query(
                pageQuery,
                [window.done, window.window, window.windowTxid ?? "0", String(window.windowID ?? 0), String(limit)],
                label: "read outbox page")
        }
        var records: [OutboxRecord] = []
        records.reserveCapacity(result.rows.count)
        for row in result.rows {
            guard let txid = row[1], let idText = row[2], let id = Int64(idText),
                let tableText = row[3], let tableID = Int(tableText), let k1 = row[4]
            else { continue }
            // A declared table's record carries its whole key; one that cannot be read keeps k1 and
            // k2, and is rejected below for its width.
            var key = RowKey(k1, row[5])
            if let rowKey = row[6], let parts = try? PostgresArray.parseStrings(rowKey), !parts.isEmpty {
                key = RowKey(parts: parts)
            }
            records.append(OutboxRecord(txid: txid, id: id, tableID: tableID, key: key))
        }
        var next = window
        if records.count < limit {
            next = LinkCursor(done: window.window ?? window.done)
        } else if let last = records.last {
            next.windowTxid = last.txid
            next.windowID = last.id
        }
        let batch = try readStates(connection, records: records, tables: tables)
        return ChangePage(records: records, batch: batch, next: next)
    }

    /// The current states of the rows the records name. Each state supersedes every earlier one,
    /// so reading the latest is correct even if it already includes later transactions.
    static func readStates(
        _ connection: some StatementRunner, records: [OutboxRecord], tables: GeneratedTables
    ) throws(PostgresError) -> ChangeBatch {
        var batch = ChangeBatch()
        var keysByTable: [ReplicatedTable: Set<RowKey>] = [:]
        var declaredKeys: [Int: Set<[String]>] = [:]
        for record in records {
            if let applier = tables.applier(record.tableID) {
                let parts = record.key.parts(arity: applier.table.key.count)
                guard parts.count == applier.table.key.count else {
                    batch.rejected.append((record, "the key has \(parts.count) parts, \(applier.table.name) has \(applier.table.key.count) key columns"))
                    continue
                }
                declaredKeys[record.tableID, default: []].insert(parts)
                continue
            }
            if record.tableID >= Int(TableID.firstDerived) {
                // A declared table this daemon does not know: installed by a migrate after the
                // daemon read its configuration. Nothing moves until it knows the table.
                throw PostgresError(
                    category: .query, sqlState: nil,
                    message: "the outbox names table id \(record.tableID), which is not in this daemon's catalog;"
                        + " after omnisync migrate, reload the daemon (omnisync reload)",
                    statement: "read outbox page")
            }
            guard let table = ReplicatedTable(rawValue: record.tableID) else {
                batch.rejected.append((record, "unknown table id \(record.tableID)"))
                continue
            }
            if let problem = keyProblem(record.key, table: table) {
                batch.rejected.append((record, problem))
                continue
            }
            keysByTable[table, default: []].insert(record.key)
        }
        for table in keysByTable.keys.sorted() {
            let keys = keysByTable[table]!.sorted()
            let layout = TableLayout.of(table)
            var params: [String?] = [PostgresArray.literal(keys.map(\.k1))]
            if layout.keyCount > 1 { params.append(PostgresArray.literal(keys.map(\.k2))) }
            let result = try connection.query(layout.sql.selectStates, params, label: "read \(table.name) states")
            var found: [RowKey: RowState] = [:]
            for row in result.rows {
                let (key, state) = StateCodec.decodeStateRow(row, layout: layout)
                switch state {
                case .success(let state):
                    found[key] = state
                case .failure(let error):
                    for record in records where record.key == key && record.tableID == table.rawValue {
                        batch.rejected.append((record, error.reason))
                    }
                }
            }
            if !found.isEmpty { batch.states[table] = found }
            // A record whose row has no sync state (its metadata was removed by hand) cannot be
            // shipped: it is quarantined rather than dropped without a word.
            let rejectedKeys = Set(batch.rejected.map(\.record.key))
            for record in records where record.tableID == table.rawValue {
                if found[record.key] == nil, !rejectedKeys.contains(record.key), keysByTable[table]?.contains(record.key) == true {
                    batch.rejected.append((record, "no sync state for this row at the source"))
                }
            }
        }
        for id in declaredKeys.keys.sorted() {
            guard let applier = tables.applier(id), let keys = declaredKeys[id] else { continue }
            let read = try applier.readStates(connection, keys: keys.sorted(by: ApplyPlanner.keyPrecedes))
            if !read.states.isEmpty { batch.declared[id] = read.states }
            let unreadable = Dictionary(read.unreadable.map { ($0.key, $0.reason) }, uniquingKeysWith: { first, _ in first })
            for record in records where record.tableID == id {
                let parts = record.key.parts(arity: applier.table.key.count)
                guard keys.contains(parts), read.states[parts] == nil else { continue }
                // Unreadable, or no sync state at all (removed by hand): quarantined, never dropped.
                batch.rejected.append((record, unreadable[parts] ?? "no sync state for this row at the source"))
            }
        }
        return batch
    }

    /// Why a key cannot be a key of `table`, if it cannot.
    static func keyProblem(_ key: RowKey, table: ReplicatedTable) -> String? {
        if table.keyColumns.count == 1 { return key.k2 == nil ? nil : "unexpected second key part" }
        guard let k2 = key.k2 else { return "missing second key part" }
        if table == .orderLines, Int32(k2) == nil { return "line_no is not an integer" }
        return nil
    }
}

extension ChangeFeed {
    /// The states of a counter table whose key column `column` holds one of `values`: the rows
    /// of a new follow.
    static func readStates(
        _ connection: some StatementRunner, table: ReplicatedTable, keyColumn column: Int, values: [String]
    ) throws(PostgresError) -> (states: [RowKey: RowState], rejected: [(RowKey, String)]) {
        let layout = TableLayout.of(table)
        guard !values.isEmpty, case .counter = layout.shape else { return ([:], []) }
        let result = try connection.query(
            layout.selectStatesByKeyColumn(column), [PostgresArray.literal(values.map { Optional($0) })],
            label: "read \(table.name) followed states")
        let decoded = decodeStates(result.rows, layout: layout)
        return (decoded.states, decoded.rejected)
    }

    /// State rows as read (key columns first), decoded; a row that does not decode is named
    /// with its reason, to be quarantined.
    private static func decodeStates(
        _ rows: [[String?]], layout: TableLayout
    ) -> (states: [RowKey: RowState], rejected: [(RowKey, String)], last: RowKey?) {
        var states: [RowKey: RowState] = [:]
        var rejected: [(RowKey, String)] = []
        var last: RowKey?
        for row in rows {
            let (key, state) = StateCodec.decodeStateRow(row, layout: layout)
            last = key
            switch state {
            case .success(let state): states[key] = state
            case .failure(let error): rejected.append((key, error.reason))
            }
        }
        return (states, rejected, last)
    }

    /// Takes away from this site the counter rows whose key column `column` holds one of
    /// `values`, except those `site` wrote; returns how many visible rows went. Not captured (the
    /// daemon's session).
    static func removeUnwritten(
        _ connection: some StatementRunner, table: ReplicatedTable, keyColumn column: Int, values: [String], site: String
    ) throws(PostgresError) -> Int {
        let layout = TableLayout.of(table)
        guard !values.isEmpty, case .counter = layout.shape else { return 0 }
        return try connection.query(
            layout.removeUnwrittenByKeyColumn(column), [PostgresArray.literal(values.map { Optional($0) }), site],
            label: "remove unfollowed \(table.name) rows"
        ).affectedRows
    }

    /// One page of every state of `table`, in key order after `after` (bootstrapping a new peer).
    static func readStatePage(
        _ connection: some StatementRunner, table: ReplicatedTable, after: RowKey?, limit: Int
    ) throws(PostgresError) -> (states: [RowKey: RowState], last: RowKey?, rows: Int, rejected: [(RowKey, String)]) {
        let layout = TableLayout.of(table)
        var params: [String?] = []
        if let after {
            params.append(after.k1)
            if layout.keyCount > 1 { params.append(after.k2) }
        }
        params.append(String(limit))
        let query = after == nil ? layout.sql.selectStatesFirstPage : layout.sql.selectStatesNextPage
        let result = try connection.query(query, params, label: "read \(table.name) state page")
        let decoded = decodeStates(result.rows, layout: layout)
        return (decoded.states, decoded.last, result.rows.count, decoded.rejected)
    }
}
