import Catalog

/// One check of a table (`check.KIND = expression`), run at a target on the rows a batch changed
/// there: a present row for which the expression is false records a conflict of kind `KIND`, with
/// the row's replicated values as its detail. One open conflict per row and kind: the id depends
/// on the kind, the table and the key only, so the same row found again (here or at another site)
/// is the same conflict.
struct DeclaredCheck: Sendable {
    let table: CaptureTable
    let kind: String
    /// The keys, among `$1…$n` (one text array per key column), whose row violates the check:
    /// the key columns, then the replicated columns as capture stores them.
    let violations: String

    init(table: CaptureTable, check: TableSpec.Check) {
        self.table = table
        self.kind = check.kind
        let keyNames = table.key.indices.map { "k\($0 + 1)" }.joined(separator: ", ")
        let keyParams = table.key.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
        let match = table.key.enumerated().map { "r.\($1.name.quoted) = k.k\($0 + 1)::\($1.type.name)" }.joined(separator: " AND ")
        let columns = table.key.map { "r.\($0.name.quoted)::text" }
            + table.replicated.map { CaptureDDL.valueText("r.\($0.column.name.quoted)", $0.column) }
        // The expression is the operator's (or the built-in spec's), validated by the catalog; it
        // names the table's columns, which the alias-free inner query exposes.
        violations = """
            SELECT \(columns.joined(separator: ", ")) FROM \(table.name.sql) AS r JOIN unnest(\(keyParams)) AS k(\(keyNames)) \
            ON \(match) WHERE NOT (SELECT \(check.expression) FROM (SELECT r.*) AS t)
            """
    }

    /// The conflict a violating row records.
    func conflict(row: [String?]) -> ApplyPlan.Conflict {
        let key = row[0..<table.key.count].map { $0 ?? "" }
        let values = zip(table.replicated, row[table.key.count...]).map { entry, value in
            (entry.column.name.name, JSONText.value(value))
        }
        let id = ConflictRecord.stableID(([kind, table.name.description] + key + [""]).joined(separator: "\u{1F}"))
        return ApplyPlan.Conflict(id: id, kind: kind, key: key, column: "", detail: JSONText.object(values))
    }
}
