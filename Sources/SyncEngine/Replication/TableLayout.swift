import MergeCore

/// How one replicated table is stored: its retail columns and its state table in `omnisync`
/// (schema/0003_capture.sql). Every statement that reads or writes replicated rows is built
/// here, once, from these constant descriptions; values always travel as `$n` array parameters.
struct TableLayout: Sendable {
    enum Shape: Sendable {
        /// Counter columns with per-site contributions and one resettable column (index 0).
        case counter(visible: [String], contributions: [String], resetPrefix: String, resetHasBase: Bool)
        /// An immutable record: the visible columns after the key, with their SQL types.
        case record(fields: [(name: String, type: String)])
    }

    let table: ReplicatedTable
    let stateTable: String
    let keyTypes: [String]
    let shape: Shape

    static func of(_ table: ReplicatedTable) -> TableLayout {
        switch table {
        case .stock: return stock
        case .cartItems: return cartItems
        case .orders: return orders
        case .orderLines: return orderLines
        case .returns: return returns
        }
    }

    static let stock = TableLayout(
        table: .stock, stateTable: "omnisync.stock_state", keyTypes: ["text", "text"],
        shape: .counter(
            visible: ["on_hand", "reserved"], contributions: ["on_hand_contrib", "reserved_contrib"],
            resetPrefix: "count", resetHasBase: true))
    static let cartItems = TableLayout(
        table: .cartItems, stateTable: "omnisync.cart_state", keyTypes: ["text", "text"],
        shape: .counter(
            visible: ["quantity"], contributions: ["quantity_contrib"], resetPrefix: "delete", resetHasBase: false))
    static let orders = TableLayout(
        table: .orders, stateTable: "omnisync.order_state", keyTypes: ["text"],
        shape: .record(fields: [("customer_id", "text"), ("channel", "text"), ("placed_at", "timestamptz")]))
    static let orderLines = TableLayout(
        table: .orderLines, stateTable: "omnisync.order_line_state", keyTypes: ["text", "int"],
        shape: .record(fields: [("sku", "text"), ("quantity", "bigint")]))
    static let returns = TableLayout(
        table: .returns, stateTable: "omnisync.return_state", keyTypes: ["text"],
        shape: .record(fields: [
            ("order_id", "text"), ("line_no", "int"), ("quantity", "bigint"), ("location", "text"),
            ("returned_at", "timestamptz"),
        ]))

    // MARK: - Pieces

    /// Physical counts: the latest wins (concurrent ones are a conflict). Cart deletes: every
    /// delete removes what it had seen, so concurrent deletes join.
    var resetRule: ResetRule { table == .cartItems ? .joined : .latestWins }

    var retailTable: String { "retail.\(table.name)" }
    var keyColumns: [String] { table.keyColumns }
    var keyCount: Int { keyColumns.count }

    /// Visible columns shipped with a record's state (none for counters: they are derived).
    var fieldCount: Int {
        if case .record(let fields) = shape { return fields.count }
        return 0
    }

    /// The key of a row whose first columns are the key's, as every statement here selects them.
    func rowKey(_ row: [String?]) -> RowKey {
        RowKey(row[0] ?? "", keyCount > 1 ? row[1] : nil)
    }

    /// `unnest($1::text[], $2::text[]) AS k(k1, k2)` — keys as parameters.
    private var keysUnnest: String {
        let params = (1...keyCount).map { "$\($0)::text[]" }.joined(separator: ", ")
        let names = (1...keyCount).map { "k\($0)" }.joined(separator: ", ")
        return "unnest(\(params)) AS k(\(names))"
    }

    /// `x.sku = k.k1 AND x.location = k.k2` with the key's SQL type.
    private func keyMatch(_ alias: String, _ other: String = "k") -> String {
        zip(keyColumns, keyTypes).enumerated().map { index, column in
            let cast = column.1 == "text" ? "" : "::\(column.1)"
            return "\(alias).\(column.0) = \(other).k\(index + 1)\(cast)"
        }.joined(separator: " AND ")
    }

    private func keySelect(_ alias: String) -> String {
        keyColumns.map { "\(alias).\($0)::text" }.joined(separator: ", ")
    }

    private var keyOrder: String { keyColumns.map { "r.\($0)" }.joined(separator: ", ") }

    /// The state columns, in the order `StateCodec` reads and writes them.
    var stateColumns: [String] {
        switch shape {
        case .counter(_, let contributions, let prefix, let hasBase):
            var columns = ["sites", "versions"] + contributions + ["max_hlc", "\(prefix)_hlc", "\(prefix)_site"]
            if hasBase { columns.append("\(prefix)_base") }
            return columns + ["\(prefix)_sites", "\(prefix)_versions", "\(prefix)_observed"]
        case .record:
            return ["origin", "hlc"]
        }
    }

    private var stateColumnTypes: [String] {
        switch shape {
        case .counter(_, let contributions, _, let hasBase):
            var types = ["text[]", "bigint[]"] + contributions.map { _ in "bigint[]" } + ["bigint", "bigint", "text"]
            if hasBase { types.append("bigint") }
            return types + ["text[]", "bigint[]", "bigint[]"]
        case .record:
            return ["text", "bigint"]
        }
    }

    private var recordFields: [(name: String, type: String)] {
        if case .record(let fields) = shape { return fields }
        return []
    }

    // MARK: - Reading at the source

    /// Current states of the given keys: key columns, then (records) visible fields, then state columns.
    var selectStates: String {
        let state = stateColumns.map { "s.\($0)::text" }.joined(separator: ", ")
        switch shape {
        case .counter:
            return "SELECT \(keySelect("s")), \(state) FROM \(keysUnnest) JOIN \(stateTable) AS s ON \(keyMatch("s"))"
        case .record:
            let fields = recordFields.map { "r.\($0.name)::text" }.joined(separator: ", ")
            return """
                SELECT \(keySelect("r")), \(fields), \(state) FROM \(keysUnnest) \
                JOIN \(retailTable) AS r ON \(keyMatch("r")) \
                JOIN \(stateTable) AS s ON \(keyColumns.map { "s.\($0) = r.\($0)" }.joined(separator: " AND "))
                """
        }
    }

    /// Every state of the table in key order, from the start or after a given key (bootstrapping
    /// a new peer). Parameters: the key after which to start (omitted for the first page), the limit.
    func selectStatesPage(first: Bool) -> String {
        let state = stateColumns.map { "s.\($0)::text" }.joined(separator: ", ")
        let after: String
        if first {
            after = "true"
        } else if keyCount == 1 {
            after = "s.\(keyColumns[0]) > $1"
        } else {
            after = "(s.\(keyColumns[0]), s.\(keyColumns[1])) > ($1, $2::\(keyTypes[1]))"
        }
        let limit = "$\(first ? 1 : keyCount + 1)::int"
        let order = keyColumns.map { "s.\($0)" }.joined(separator: ", ")
        switch shape {
        case .counter:
            return "SELECT \(keySelect("s")), \(state) FROM \(stateTable) AS s WHERE \(after) ORDER BY \(order) LIMIT \(limit)"
        case .record:
            let fields = recordFields.map { "r.\($0.name)::text" }.joined(separator: ", ")
            let join = keyColumns.map { "r.\($0) = s.\($0)" }.joined(separator: " AND ")
            return """
                SELECT \(keySelect("s")), \(fields), \(state) FROM \(stateTable) AS s \
                JOIN \(retailTable) AS r ON \(join) WHERE \(after) ORDER BY \(order) LIMIT \(limit)
                """
        }
    }

    /// Counters: the states whose key column `column` (an index into the key) holds one of `$1`
    /// (a text array): the rows of a new follow. No ORDER BY, as the feed session wants.
    func selectStatesByKeyColumn(_ column: Int) -> String {
        let state = stateColumns.map { "s.\($0)::text" }.joined(separator: ", ")
        return "SELECT \(keySelect("s")), \(state) FROM \(stateTable) AS s WHERE s.\(keyColumns[column]) = ANY($1::\(keyTypes[column])[])"
    }

    /// Counters: removes the states whose key column `column` holds one of `$1`, except rows the
    /// site `$2` wrote (its name among their sites), and their visible rows (an unfollow).
    func removeUnwrittenByKeyColumn(_ column: Int) -> String {
        let returned = keyColumns.map { "s.\($0)" }.joined(separator: ", ")
        let match = keyColumns.map { "r.\($0) = gone.\($0)" }.joined(separator: " AND ")
        return """
            WITH gone AS (DELETE FROM \(stateTable) AS s WHERE s.\(keyColumns[column]) = ANY($1::\(keyTypes[column])[]) \
            AND NOT ($2::text = ANY(s.sites)) RETURNING \(returned)) \
            DELETE FROM \(retailTable) AS r USING gone WHERE \(match)
            """
    }

    // MARK: - Applying at the target

    /// The keys among the given ones whose state the target holds (a routed row held only).
    var presentStates: String {
        "SELECT \(keySelect("s")) FROM \(keysUnnest) JOIN \(stateTable) AS s ON \(keyMatch("s"))"
    }

    /// Records the given rows in the target's outbox again (a row returned to a source that was
    /// not routed it) and wakes the daemon, as the capture does.
    var recordAgain: String {
        let keys = (1...2).map { $0 <= keyCount ? "k.k\($0)" : "NULL" }.joined(separator: ", ")
        return """
            WITH recorded AS (INSERT INTO omnisync.outbox (table_id, k1, k2) SELECT \(table.rawValue), \(keys) \
            FROM \(keysUnnest) RETURNING 1) SELECT pg_notify('omnisync', '') FROM (SELECT count(*) FROM recorded) AS n
            """
    }

    /// `sku::text, location::text` — an inserted row's key, as `RETURNING` gives it back.
    private var returnedKey: String { keyColumns.map { "\($0)::text" }.joined(separator: ", ") }

    /// Counters: creates the visible rows the target lacks (zeros; the merge sets the values),
    /// locked by their insert, and returns the keys created.
    var insertPlaceholders: String? {
        guard case .counter(let visible, _, _, _) = shape else { return nil }
        let zeros = visible.map { _ in "0" }.joined(separator: ", ")
        let keys = (1...keyCount).map { "k.k\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO \(retailTable) (\(keyColumns.joined(separator: ", ")), \(visible.joined(separator: ", "))) \
            SELECT \(keys), \(zeros) FROM \(keysUnnest) ORDER BY \(keys) ON CONFLICT DO NOTHING RETURNING \(returnedKey)
            """
    }

    /// Records: inserts the incoming records the target lacks and returns the keys inserted.
    var insertMissingRecords: String? {
        guard case .record(let fields) = shape else { return nil }
        let count = keyCount + fields.count
        let params = (1...count).map { "$\($0)::text[]" }.joined(separator: ", ")
        let names = (1...count).map { "c\($0)" }.joined(separator: ", ")
        let casts = zip(keyTypes + fields.map(\.type), 1...count).map { "u.c\($1)::\($0)" }.joined(separator: ", ")
        let columns = (keyColumns + fields.map(\.name)).joined(separator: ", ")
        return """
            INSERT INTO \(retailTable) (\(columns)) SELECT \(casts) FROM unnest(\(params)) AS u(\(names)) \
            ON CONFLICT DO NOTHING RETURNING \(returnedKey)
            """
    }

    /// Locks the target's visible rows for the keys, in key order, and returns the keys locked;
    /// waits for a row another transaction holds (up to the session's `lock_timeout`).
    var lockRows: String {
        "SELECT \(keySelect("r")) FROM \(retailTable) AS r JOIN \(keysUnnest) ON \(keyMatch("r")) ORDER BY \(keyOrder) FOR UPDATE OF r"
    }

    /// As `lockRows`, but passes over a row another transaction holds instead of waiting for it
    /// (guarantee 10: an application's lock is never waited on): the keys returned are the rows locked.
    var lockRowsNoWait: String { lockRows + " SKIP LOCKED" }

    /// Reads the target's visible rows and states for the keys. Run after the rows are locked, in a new
    /// statement: a row lock waited for inside one statement would leave the joined state as of
    /// the statement's start, before the transaction that held the lock committed.
    var selectCurrent: String {
        let state = stateColumns.map { "s.\($0)::text" }.joined(separator: ", ")
        let join = keyColumns.map { "s.\($0) = r.\($0)" }.joined(separator: " AND ")
        switch shape {
        case .counter(let visible, _, _, _):
            let values = visible.map { "r.\($0)::text" }.joined(separator: ", ")
            return """
                SELECT \(keySelect("r")), \(values), s.sites IS NOT NULL, \(stateColumns.map { "s.\($0)::text" }.joined(separator: ", ")) \
                FROM \(retailTable) AS r JOIN \(keysUnnest) ON \(keyMatch("r")) \
                LEFT JOIN \(stateTable) AS s ON \(join) ORDER BY \(keyOrder)
                """
        case .record(let fields):
            let values = fields.map { "r.\($0.name)::text" }.joined(separator: ", ")
            return """
                SELECT \(keySelect("r")), \(values), s.origin IS NOT NULL, \(state) \
                FROM \(retailTable) AS r JOIN \(keysUnnest) ON \(keyMatch("r")) \
                LEFT JOIN \(stateTable) AS s ON \(join) ORDER BY \(keyOrder)
                """
        }
    }

    /// Writes merged states: parameters are the keys, then one text[] per state column.
    var upsertStates: String {
        let columns = stateColumns
        let count = keyCount + columns.count
        let params = (1...count).map { "$\($0)::text[]" }.joined(separator: ", ")
        let names = (1...count).map { "c\($0)" }.joined(separator: ", ")
        let casts = zip(keyTypes + stateColumnTypes, 1...count).map { "u.c\($1)::\($0)" }.joined(separator: ", ")
        let updates = columns.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO \(stateTable) (\((keyColumns + columns).joined(separator: ", "))) \
            SELECT \(casts) FROM unnest(\(params)) AS u(\(names)) \
            ON CONFLICT (\(keyColumns.joined(separator: ", "))) DO UPDATE SET \(updates)
            """
    }

    /// Sets visible values: parameters are the keys, then one text[] per visible column.
    var updateVisible: String {
        let visible: [(name: String, type: String)]
        switch shape {
        case .counter(let columns, _, _, _): visible = columns.map { ($0, "bigint") }
        case .record(let fields): visible = fields
        }
        let count = keyCount + visible.count
        let params = (1...count).map { "$\($0)::text[]" }.joined(separator: ", ")
        let names = (1...count).map { "c\($0)" }.joined(separator: ", ")
        let sets = visible.enumerated().map { "\($1.name) = u.c\(keyCount + $0 + 1)::\($1.type)" }.joined(separator: ", ")
        let match = zip(keyColumns, keyTypes).enumerated().map { index, column in
            "r.\(column.0) = u.c\(index + 1)::\(column.1)"
        }.joined(separator: " AND ")
        return "UPDATE \(retailTable) AS r SET \(sets) FROM unnest(\(params)) AS u(\(names)) WHERE \(match)"
    }

    /// Removes visible rows whose merged state is absent (deleted cart items).
    var deleteVisible: String {
        "DELETE FROM \(retailTable) AS r USING \(keysUnnest) WHERE \(keyMatch("r"))"
    }
}

/// Every statement of one table, built once: the hot path runs them thousands of times a second.
struct TableStatements: Sendable {
    let selectStates: String
    let selectStatesFirstPage: String
    let selectStatesNextPage: String
    let insertPlaceholders: String?
    let insertMissingRecords: String?
    let lockRows: String
    let lockRowsNoWait: String
    let selectCurrent: String
    let upsertStates: String
    let updateVisible: String
    let deleteVisible: String
    let presentStates: String
    let recordAgain: String

    init(_ layout: TableLayout) {
        selectStates = layout.selectStates
        selectStatesFirstPage = layout.selectStatesPage(first: true)
        selectStatesNextPage = layout.selectStatesPage(first: false)
        insertPlaceholders = layout.insertPlaceholders
        insertMissingRecords = layout.insertMissingRecords
        lockRows = layout.lockRows
        lockRowsNoWait = layout.lockRowsNoWait
        selectCurrent = layout.selectCurrent
        upsertStates = layout.upsertStates
        updateVisible = layout.updateVisible
        deleteVisible = layout.deleteVisible
        presentStates = layout.presentStates
        recordAgain = layout.recordAgain
    }

    private static let stock = TableStatements(.stock)
    private static let cartItems = TableStatements(.cartItems)
    private static let orders = TableStatements(.orders)
    private static let orderLines = TableStatements(.orderLines)
    private static let returns = TableStatements(.returns)

    static func of(_ table: ReplicatedTable) -> TableStatements {
        switch table {
        case .stock: return stock
        case .cartItems: return cartItems
        case .orders: return orders
        case .orderLines: return orderLines
        case .returns: return returns
        }
    }
}

extension TableLayout {
    /// The table's statements, built once.
    var sql: TableStatements { TableStatements.of(table) }
}
