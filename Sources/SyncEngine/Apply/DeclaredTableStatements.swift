import Catalog
import MergeCore

/// Every statement that reads or writes one declared table's rows, built once from its capture
/// description: keys and values always travel as `$n` text arrays (one per key column or field,
/// unnested together), names always quoted, values cast to the column's own type.
struct DeclaredTableStatements: Sendable {
    let table: CaptureTable
    let fields: [(name: SQLIdentifier, type: StateFieldType)]
    /// Current states of the given keys at the source: key columns, then every state field.
    let selectStates: String
    /// Every state in key order, a page at a time (`$1` the limit; then the key after which to go on
    /// as `$1…$n` and the limit last): the first copy to a new peer.
    let selectStatesFirstPage: String
    let selectStatesNextPage: String
    /// Every visible row: key columns, then the replicated columns as capture stores them (verify).
    let selectVisible: String
    /// Locks the target's visible rows for the keys, in key order, without waiting on a lock an
    /// application holds (those rows are left out and set aside).
    let lockRows: String
    /// Locks the state rows of the keys (`SKIP LOCKED`, or waiting), and lists those that exist:
    /// a state row is what the capture trigger locks (or creates) for every write, so holding it
    /// serializes an apply with the application's writes of that key, a new row's included.
    let lockStatesNoWait: String
    let lockStatesWaiting: String
    let presentStates: String
    /// Empty states for keys that have none, so that they can be locked; returns those inserted.
    let insertEmptyStates: String
    /// The target's state and visible row for each key: key columns, whether a state exists, the
    /// state fields, whether a visible row exists, then the visible replicated columns.
    let selectCurrent: String
    let upsertStates: String
    let insertVisible: String
    let updateVisible: String
    let deleteVisible: String
    /// Records the keys in the target's own outbox, as capture does, and wakes its links: the
    /// target holds more of these rows than a source that is not routed them sent (`RouteShares`).
    let recordAgain: String
    /// Per key column: the states whose value of that column is one of `$1` (a text array), the
    /// columns as `selectStates` (the first copy of a follow's rows).
    let selectStatesByKeyColumn: [String]
    /// Per key column: removes the states whose value of that column is one of `$1`, except rows
    /// the site `$2` wrote (its name in their vector clock), and their visible rows (an unfollow).
    let removeUnwrittenByKeyColumn: [String]

    init(_ table: CaptureTable) throws(SyntaxError) {
        self.table = table
        let fields = try table.stateFields()
        self.fields = fields
        let state = try CaptureNames.stateTable(table.name).sql
        let target = table.name.sql
        let keyCount = table.key.count
        let keyParams = (1...keyCount).map { "$\($0)::text[]" }.joined(separator: ", ")
        let keyNames = (1...keyCount).map { "k\($0)" }.joined(separator: ", ")
        let keysUnnest = "unnest(\(keyParams)) AS k(\(keyNames))"
        func match(_ alias: String, _ other: String = "k", _ prefix: String = "k") -> String {
            table.key.enumerated().map { "\(alias).\($1.name.quoted) = \(other).\(prefix)\($0 + 1)::\($1.type.name)" }
                .joined(separator: " AND ")
        }
        let keyText = { (alias: String) in table.key.map { "\(alias).\($0.name.quoted)::text" }.joined(separator: ", ") }
        let order = { (alias: String) in table.key.map { "\(alias).\($0.name.quoted)" }.joined(separator: ", ") }
        let stateFields = fields.map { "s.\($0.name.quoted)::text" }.joined(separator: ", ")
        let replicated = table.replicated.map(\.column)
        let visibleFields = replicated.map { CaptureDDL.valueText("r.\($0.name.quoted)", $0) }.joined(separator: ", ")

        // No ORDER BY: the feed session forbids sorts (`SiteHandle.feedSetup`), and with the sort
        // refused the planner joined by a nested loop over the whole state table (2 s per
        // 1,000-key page of a 10,000-row table instead of 12 ms). The rows go into a dictionary.
        selectStates = "SELECT \(keyText("s")), \(stateFields) FROM \(keysUnnest) JOIN \(state) AS s ON \(match("s"))"
        let pageAfter = table.key.enumerated().map { "$\($0 + 1)::\($1.type.name)" }.joined(separator: ", ")
        selectStatesFirstPage = "SELECT \(keyText("s")), \(stateFields) FROM \(state) AS s ORDER BY \(order("s")) LIMIT $1::int"
        selectStatesNextPage = "SELECT \(keyText("s")), \(stateFields) FROM \(state) AS s WHERE (\(order("s"))) > (\(pageAfter)) "
            + "ORDER BY \(order("s")) LIMIT $\(keyCount + 1)::int"
        selectVisible = "SELECT \(keyText("r"))\(visibleFields.isEmpty ? "" : ", " + visibleFields) FROM \(target) AS r"
        lockRows = "SELECT \(keyText("r")) FROM \(target) AS r JOIN \(keysUnnest) ON \(match("r")) ORDER BY \(order("r")) FOR UPDATE OF r SKIP LOCKED"
        let lockStates = "SELECT \(keyText("s")) FROM \(state) AS s JOIN \(keysUnnest) ON \(match("s")) ORDER BY \(order("s")) FOR UPDATE OF s"
        lockStatesNoWait = lockStates + " SKIP LOCKED"
        lockStatesWaiting = lockStates
        presentStates = "SELECT \(keyText("s")) FROM \(state) AS s JOIN \(keysUnnest) ON \(match("s"))"
        var emptyColumns = ["state_format", "sites", "versions", "max_hlc"].map { "\"\($0)\"" }
        for (_, column) in table.replicated where column.rule == .counter {
            emptyColumns.append(try CaptureNames.field(column.name, "contrib").quoted)
        }
        let emptyValues = ["\(StateEncoding.format)", "'{}'::text[]", "'{}'::bigint[]", "0"]
            + Array(repeating: "'{}'::bigint[]", count: emptyColumns.count - 4)
        let castKeys = table.key.enumerated().map { "k.k\($0 + 1)::\($1.type.name)" }.joined(separator: ", ")
        insertEmptyStates = """
            INSERT INTO \(state) AS s (\((table.key.map(\.name.quoted) + emptyColumns).joined(separator: ", "))) \
            SELECT \(castKeys), \(emptyValues.joined(separator: ", ")) FROM \(keysUnnest) \
            ORDER BY \(table.key.indices.map { "\($0 + 1)" }.joined(separator: ", ")) \
            ON CONFLICT DO NOTHING RETURNING \(keyText("s"))
            """
        let keyEquals = table.key.map { "s.\($0.name.quoted) = k.\($0.name.quoted)" }.joined(separator: " AND ")
        let rowEquals = table.key.map { "r.\($0.name.quoted) = k.\($0.name.quoted)" }.joined(separator: " AND ")
        let typedKeys = table.key.enumerated().map { "k.k\($0 + 1)::\($1.type.name) AS \($1.name.quoted)" }.joined(separator: ", ")
        selectCurrent = """
            SELECT \(keyText("k")), s.state_format IS NOT NULL, \(stateFields), r.\(table.key[0].name.quoted) IS NOT NULL\
            \(visibleFields.isEmpty ? "" : ", " + visibleFields) \
            FROM (SELECT \(typedKeys) FROM \(keysUnnest)) AS k \
            LEFT JOIN \(state) AS s ON \(keyEquals) LEFT JOIN \(target) AS r ON \(rowEquals) ORDER BY \(order("k"))
            """

        let fieldCount = fields.count
        let stateParams = (1...(keyCount + fieldCount)).map { "$\($0)::text[]" }.joined(separator: ", ")
        let stateNames = (1...(keyCount + fieldCount)).map { "c\($0)" }.joined(separator: ", ")
        let stateCasts = (table.key.map(\.type.name) + fields.map(\.type.rawValue)).enumerated()
            .map { "u.c\($0.offset + 1)::\($0.element)" }.joined(separator: ", ")
        let allState = (table.key.map(\.name.quoted) + fields.map(\.name.quoted)).joined(separator: ", ")
        upsertStates = """
            INSERT INTO \(state) (\(allState)) SELECT \(stateCasts) FROM unnest(\(stateParams)) AS u(\(stateNames)) \
            ON CONFLICT (\(table.key.map(\.name.quoted).joined(separator: ", "))) DO UPDATE SET \
            \(fields.map { "\($0.name.quoted) = excluded.\($0.name.quoted)" }.joined(separator: ", "))
            """

        let visibleCount = keyCount + replicated.count
        let visibleParams = (1...visibleCount).map { "$\($0)::text[]" }.joined(separator: ", ")
        let visibleNames = (1...visibleCount).map { "c\($0)" }.joined(separator: ", ")
        let visibleCasts = (table.key.map(\.type.name) + replicated.map(\.type.name)).enumerated()
            .map { "u.c\($0.offset + 1)::\($0.element)" }.joined(separator: ", ")
        let visibleColumns = (table.key.map(\.name.quoted) + replicated.map(\.name.quoted)).joined(separator: ", ")
        insertVisible = """
            INSERT INTO \(target) (\(visibleColumns)) SELECT \(visibleCasts) FROM unnest(\(visibleParams)) AS u(\(visibleNames)) \
            ORDER BY \(table.key.indices.map { "\($0 + 1)" }.joined(separator: ", ")) \
            ON CONFLICT (\(table.key.map(\.name.quoted).joined(separator: ", "))) DO NOTHING
            """
        let sets = replicated.enumerated().map { "\($1.name.quoted) = u.c\(keyCount + $0 + 1)::\($1.type.name)" }
        updateVisible = sets.isEmpty ? "" : """
            UPDATE \(target) AS r SET \(sets.joined(separator: ", ")) FROM unnest(\(visibleParams)) AS u(\(visibleNames)) \
            WHERE \(match("r", "u", "c"))
            """
        deleteVisible = "DELETE FROM \(target) AS r USING \(keysUnnest) WHERE \(match("r"))"
        selectStatesByKeyColumn = table.key.map { column in
            "SELECT \(keyText("s")), \(stateFields) FROM \(state) AS s WHERE s.\(column.name.quoted)::text = ANY($1::text[])"
        }
        let goneMatch = table.key.map { "r.\($0.name.quoted) = gone.\($0.name.quoted)" }.joined(separator: " AND ")
        removeUnwrittenByKeyColumn = table.key.map { column in
            "WITH gone AS (DELETE FROM \(state) AS s WHERE s.\(column.name.quoted)::text = ANY($1::text[]) "
                + "AND NOT ($2::text = ANY(s.\"sites\")) RETURNING \(table.key.map { "s.\($0.name.quoted)" }.joined(separator: ", "))) "
                + "DELETE FROM \(target) AS r USING gone WHERE \(goneMatch)"
        }
        let wholeKey = (1...keyCount).map { "k.k\($0)" }.joined(separator: ", ")
        recordAgain = """
            WITH recorded AS (INSERT INTO omnisync.outbox (table_id, k1, k2, row_key) \
            SELECT \(table.id.rawValue), k.k1, \(keyCount > 1 ? "k.k2" : "NULL"), ARRAY[\(wholeKey)]::text[] \
            FROM \(keysUnnest) RETURNING 1) \
            SELECT pg_notify('omnisync', '') FROM (SELECT count(*) FROM recorded) AS n
            """
    }
}
