import MergeCore

/// What `migrate` runs around the capture script for an application's table: the rows the table
/// held before capture, and a capture that changes with its declaration.
extension CaptureDDL {
    /// Every row that has no sync state yet becomes this site's insert, captured exactly as the
    /// trigger would have captured `INSERT` of it (the conformance test compares the two): the
    /// outbox names it, counters contribute their value, every other replicated column is written
    /// with one stamp. Rows that already have a state are left alone, so it can run again.
    public static func seedScript(for table: CaptureTable) throws(SyntaxError) -> String {
        let state = try CaptureNames.stateTable(table.name)
        let keyMatch = table.key.map { "s.\($0.name.quoted) = r.\($0.name.quoted)" }.joined(separator: " AND ")
        let unseeded = "NOT EXISTS (SELECT 1 FROM \(state.sql) AS s WHERE \(keyMatch))"
        let order = table.key.map { "r.\($0.name.quoted)" }.joined(separator: ", ")
        let keyTexts = table.key.map { "r.\($0.name.quoted)::text" }

        var fields = ["state_format", "sites", "versions", "max_hlc"].map { "\"\($0)\"" }
        var values = ["\(StateEncoding.format)", "ARRAY[w.me]", "ARRAY[1::bigint]"]
        var stamped: [String] = []
        var perColumn: [(field: String, value: String)] = []
        var statusChecks: [String] = []
        for (_, column) in table.replicated {
            let value = "r.\(column.name.quoted)"
            let text = valueText(value, column)
            func add(_ suffix: String, _ expression: String) throws(SyntaxError) {
                perColumn.append((try CaptureNames.field(column.name, suffix).quoted, expression))
            }
            switch column.rule {
            case .counter:
                let scale = column.counterScale
                let units = scale.decimals == 0 ? "coalesce(\(value), 0)::bigint" : "(coalesce(\(value), 0) * \(scale.factorLiteral))::bigint"
                try add("contrib", "ARRAY[\(units)]")
            case .lww, .immutable:
                // An INSERT writes every column, NULL included.
                try add("value", text)
                try add("hlc", "w.stamp")
                try add("site", "w.me")
                stamped.append("true")
            case .greatest, .least:
                try add("value", text)
            case .status(let order):
                let list = "ARRAY[\(order.map(literal).joined(separator: ", "))]::text[]"
                let written = "\(value) IS NOT NULL"
                // A value outside the list is refused, as the trigger refuses it, before anything is seeded.
                let checked = "r.\(column.name.quoted)"
                statusChecks.append("""
                    DO $seed$
                    DECLARE
                        found_value text;
                    BEGIN
                        SELECT \(checked)::text INTO found_value FROM \(table.name.sql) AS r
                         WHERE \(checked) IS NOT NULL AND array_position(\(list), \(checked)::text) IS NULL LIMIT 1;
                        IF FOUND THEN
                            RAISE EXCEPTION '''%'' in % column % is not one of its statuses (%)', found_value, \(literal(table.name.description)), \(literal(column.name.description)), \(literal(order.joined(separator: ", ")))
                                USING ERRCODE = 'check_violation', HINT = 'Correct those rows, or add the value to the status list, and migrate again.';
                        END IF;
                    END
                    $seed$;

                    """)
                try add("value", "\(value)::text")
                try add("hlc", "CASE WHEN \(written) THEN w.stamp END")
                try add("site", "CASE WHEN \(written) THEN w.me END")
                try add("seen_sites", "CASE WHEN \(written) THEN ARRAY[w.me] END")
                try add("seen_versions", "CASE WHEN \(written) THEN ARRAY[1::bigint] END")
                stamped.append(written)
            case .local:
                break
            }
        }
        values.append(stamped.isEmpty ? "0" : "CASE WHEN \(stamped.joined(separator: " OR ")) THEN w.stamp ELSE 0 END")
        fields += perColumn.map(\.field)
        values += perColumn.map(\.value)

        return statusChecks.joined() + """
            -- Rows \(table.name) held before its capture was installed: each is this site's insert.
            INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
            SELECT \(table.id.rawValue), \(keyTexts[0]), \(keyTexts.count > 1 ? keyTexts[1] : "NULL"), ARRAY[\(keyTexts.joined(separator: ", "))]
              FROM \(table.name.sql) AS r
             WHERE \(unseeded)
             ORDER BY \(order);
            INSERT INTO \(state.sql) (\((table.key.map(\.name.quoted) + fields).joined(separator: ", ")))
            SELECT \((table.key.map { "r.\($0.name.quoted)" } + values).joined(separator: ", "))
              FROM \(table.name.sql) AS r,
                   (SELECT omnisync.require_site() AS me, omnisync.wall_clock_us() AS stamp) AS w
             WHERE \(unseeded)
             ORDER BY \(order);

            """
    }

    /// Drops the triggers and functions of a table's capture; its state table and outbox records
    /// stay. Before a new capture is installed, or when a table is no longer declared.
    public static func removeCaptureScript(for table: CaptureTable) throws(SyntaxError) -> String {
        let target = table.name.sql
        var lines = ["capture", "notify", "refuse_truncate", "clamp"].map { "DROP TRIGGER IF EXISTS \($0) ON \(target);" }
        lines += [
            "DROP FUNCTION IF EXISTS \(try CaptureNames.captureFunction(table.name).sql)();",
            "DROP FUNCTION IF EXISTS \(try CaptureNames.clampFunction(table.name).sql)();",
            "DROP FUNCTION IF EXISTS \(try CaptureNames.countFunction(table.name).sql)(text[], text, numeric);",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Brings an existing state table to `table`'s fields (a column added to the declaration, or
    /// one whose rule changed): missing fields are added, and a new counter gets a zero
    /// contribution from every site the row has, so its arrays stay parallel to `sites`. Fields no
    /// longer used are kept, for a later declaration that uses them again. Safe to repeat.
    public static func stateUpgradeScript(for table: CaptureTable) throws(SyntaxError) -> String {
        let state = try CaptureNames.stateTable(table.name)
        var lines: [String] = []
        for field in try table.stateFields() {
            lines.append("ALTER TABLE \(state.sql) ADD COLUMN IF NOT EXISTS \(field.name.quoted) \(field.type.rawValue);")
        }
        for (_, column) in table.replicated where column.rule == .counter {
            let contrib = try CaptureNames.field(column.name, "contrib").quoted
            lines.append("UPDATE \(state.sql) SET \(contrib) = array_fill(0::bigint, ARRAY[cardinality(sites)]) WHERE \(contrib) IS NULL;")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
