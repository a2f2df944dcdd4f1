import Catalog
import Postgres

/// Reads what a site's database holds for a table — its columns, indexes and foreign keys — from
/// `pg_catalog`, for `TableResolver`. Read-only; names travel as parameters, never spliced.
public enum TableIntrospector {
    static let columnsQuery = """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef,
               a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false),
               a.attgenerated <> ''
        FROM pg_attribute AS a
        LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """

    /// One row per index and key column, in key order (an expression index has a NULL column).
    static let indexesQuery = """
        SELECT c.relname, i.indisprimary, i.indisunique, i.indpred IS NOT NULL OR i.indexprs IS NOT NULL, a.attname
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indexrelid
        CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
        LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = to_regclass($1) AND k.position <= i.indnkeyatts
        ORDER BY c.relname, k.position
        """

    static let foreignKeysQuery = """
        SELECT f.conname, f.confrelid::regclass::text, f.condeferrable, a.attname
        FROM pg_constraint AS f
        CROSS JOIN LATERAL unnest(f.conkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_attribute AS a ON a.attrelid = f.conrelid AND a.attnum = k.attnum
        WHERE f.conrelid = to_regclass($1) AND f.contype = 'f'
        ORDER BY f.conname, k.position
        """

    /// The facts of `table`, or nil when the site has no such table.
    public static func facts(of table: QualifiedName, connection: some StatementRunner) throws(PostgresError) -> TableFacts? {
        let name = table.sql
        let columns = try connection.query(columnsQuery, [name], label: "read table columns").rows
        guard !columns.isEmpty else { return nil }
        let factsColumns = columns.map { row in
            TableFacts.Column(
                name: row[0] ?? "", type: row[1] ?? "", notNull: row[2] == "t", hasDefault: row[3] == "t",
                isSequence: row[4] == "t", isGenerated: row[5] == "t")
        }
        var indexes: [(name: String, primary: Bool, unique: Bool, partial: Bool, columns: [String?])] = []
        for row in try connection.query(indexesQuery, [name], label: "read table indexes").rows {
            let indexName = row[0] ?? ""
            if indexes.last?.name != indexName {
                indexes.append((indexName, row[1] == "t", row[2] == "t", row[3] == "t", []))
            }
            indexes[indexes.count - 1].columns.append(row[4])
        }
        var foreignKeys: [(name: String, references: String, deferrable: Bool, columns: [String])] = []
        for row in try connection.query(foreignKeysQuery, [name], label: "read table foreign keys").rows {
            let keyName = row[0] ?? ""
            if foreignKeys.last?.name != keyName { foreignKeys.append((keyName, row[1] ?? "", row[2] == "t", [])) }
            foreignKeys[foreignKeys.count - 1].columns.append(row[3] ?? "")
        }
        return TableFacts(
            columns: factsColumns,
            indexes: indexes.map { index in
                TableFacts.Index(
                    name: index.name, columns: index.columns.compactMap { $0 }, isPrimary: index.primary, isUnique: index.unique,
                    isPartialOrExpression: index.partial || index.columns.contains(nil))
            },
            foreignKeys: foreignKeys.map {
                TableFacts.ForeignKey(name: $0.name, columns: $0.columns, references: $0.references, isDeferrable: $0.deferrable)
            })
    }
}
