import MergeCore

extension CaptureDDL {
    /// `omnisync."count:SCHEMA.TABLE"(row_key, column_name, counted)`: a physical count of one
    /// counter column of one row — its value becomes `counted` as of everything this site had seen
    /// (`ReplicatedRow.applyLocalCount`); sales elsewhere that it could not have seen still apply on
    /// top. Nil for a table without counters. Called through `omnisync.record_count`.
    static func countFunction(_ table: CaptureTable) throws(SyntaxError) -> String? {
        let counters = table.replicated.filter { $0.column.rule == .counter }.map(\.column)
        guard !counters.isEmpty else { return nil }
        let state = try CaptureNames.stateTable(table.name)
        let function = try CaptureNames.countFunction(table.name)
        let shown = literal(table.name.description)
        let keyList = literal(table.key.map(\.name.description).joined(separator: ", "))
        let counterList = literal(counters.map(\.name.description).joined(separator: ", "))
        let keyMatch = { (alias: String) in
            table.key.indices.map { "\(alias).\(table.key[$0].name.quoted) = k_\($0 + 1)" }.joined(separator: " AND ")
        }
        var declare = ["    me text;", "    st \(state.sql);", "    i int;", "    stamp bigint;", "    previous text;", "    units numeric;"]
        declare += table.key.indices.map { "    k_\($0 + 1) \(table.key[$0].type.name);" }
        var body = [
            "IF row_key IS NULL OR cardinality(row_key) <> \(table.key.count) OR array_position(row_key, NULL) IS NOT NULL",
            "   OR column_name IS NULL OR counted IS NULL THEN",
            "    RAISE EXCEPTION 'a count of % needs its % key values (%) as text, a counter column and the counted quantity', \(shown), \(table.key.count), \(keyList)",
            "        USING ERRCODE = 'null_value_not_allowed';",
            "END IF;",
        ]
        body += table.key.indices.map { "k_\($0 + 1) := row_key[\($0 + 1)]::\(table.key[$0].type.name);" }
        body += [
            "IF column_name NOT IN (\(counters.map { literal($0.name.name) }.joined(separator: ", "))) THEN",
            "    RAISE EXCEPTION '% is not a counter column of % (counters: %)', column_name, \(shown), \(counterList)",
            "        USING ERRCODE = 'undefined_column';",
            "END IF;",
            "me := omnisync.require_site();",
            "PERFORM 1 FROM \(table.name.sql) AS r WHERE \(keyMatch("r")) FOR UPDATE;",
            "IF NOT FOUND THEN",
            "    RAISE EXCEPTION 'no % row has the key (%)', \(shown), array_to_string(row_key, ', ')",
            "        USING ERRCODE = 'no_data_found', HINT = 'Insert the row first; a count resets an existing row.';",
            "END IF;",
            "SELECT * INTO st FROM \(state.sql) AS s WHERE \(keyMatch("s")) FOR UPDATE;",
            "IF NOT FOUND OR st.state_format IS DISTINCT FROM \(StateEncoding.format) THEN",
            "    RAISE EXCEPTION 'this % row has no sync state of format \(StateEncoding.format)', \(shown)",
            "        USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';",
            "END IF;",
            "i := array_position(st.sites, me);",
            "IF i IS NULL THEN",
            "    st.sites := st.sites || me;",
            "    st.versions := st.versions || 0::bigint;",
        ]
        for column in counters {
            let contrib = try CaptureNames.field(column.name, "contrib").quoted
            body.append("    st.\(contrib) := st.\(contrib) || 0::bigint;")
        }
        body += [
            "    i := cardinality(st.sites);",
            "END IF;",
            "st.versions[i] := st.versions[i] + 1;",
            "stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);",
        ]
        for (position, column) in counters.enumerated() {
            func field(_ suffix: String) throws(SyntaxError) -> String { "st." + (try CaptureNames.field(column.name, suffix).quoted) }
            // The count in the column's units (CounterScale): whole, or refused.
            let scale = column.counterScale
            let refusal = scale.decimals == 0
                ? "'a count of % is a whole number, not %', \(literal(column.name.description)), counted"
                : "'a count of % has at most \(scale.decimals) decimals, not %', \(literal(column.name.description)), counted"
            body += [
                "\(position == 0 ? "IF" : "ELSIF") column_name = \(literal(column.name.name)) THEN",
                "    units := counted" + (scale.decimals == 0 ? "" : " * \(scale.factorLiteral)") + ";",
                "    IF units <> trunc(units) THEN",
                "        RAISE EXCEPTION \(refusal)",
                "            USING ERRCODE = 'invalid_parameter_value';",
                "    END IF;",
                "    \(try field("reset_hlc")) := stamp;",
                "    \(try field("reset_site")) := me;",
                "    \(try field("reset_base")) := units;",
                "    \(try field("reset_sites")) := st.sites;",
                "    \(try field("reset_versions")) := st.versions;",
                "    \(try field("reset_observed")) := \(try field("contrib"));",
            ]
        }
        body += ["END IF;", "st.max_hlc := stamp;"]
        let fields = try table.stateFields().map(\.name.quoted)
        body += [
            "UPDATE \(state.sql) AS s SET \(fields.map { "\($0) = st.\($0)" }.joined(separator: ", "))",
            " WHERE \(keyMatch("s"));",
            "-- The count writes the visible value itself; that write is not a sale.",
            "previous := current_setting('omnisync.applying', true);",
            "PERFORM set_config('omnisync.applying', 'on', true);",
        ]
        for (position, column) in counters.enumerated() {
            body += [
                "\(position == 0 ? "IF" : "ELSIF") column_name = \(literal(column.name.name)) THEN",
                "    UPDATE \(table.name.sql) AS r SET \(column.name.quoted) = counted WHERE \(keyMatch("r"));",
            ]
        }
        body += [
            "END IF;",
            "PERFORM set_config('omnisync.applying', coalesce(previous, ''), true);",
        ]
        body += outboxInsert(table) + ["IF omnisync.notify_wanted() THEN", "    PERFORM pg_notify('omnisync', '');", "END IF;"]
        return plpgsqlFunction(
            function.sql + "(row_key text[], column_name text, counted numeric)", returns: "void", tag: "count",
            declare: declare, body: body, comment: "A physical count of one counter column of one \(table.name) row (generated).")
    }

    /// `omnisync.record_count(table_name, row_key, column_name, counted)` for every table of the
    /// catalog that has counters: the contract's one entry point, dispatching to each table's count
    /// function with no `EXECUTE` (regenerated whenever the catalog changes).
    public static func recordCountDispatcher(for tables: [CaptureTable]) throws(SyntaxError) -> String {
        var branches: [String] = []
        for table in tables.sorted(by: { $0.name < $1.name }) where try countFunction(table) != nil {
            branches += [
                "\(branches.isEmpty ? "IF" : "ELSIF") target = to_regclass(\(literal(table.name.sql))) THEN",
                "    PERFORM \(try CaptureNames.countFunction(table.name).sql)(row_key, column_name, counted);",
            ]
        }
        branches += branches.isEmpty ? ["RAISE EXCEPTION 'no replicated table has counters'", "    USING ERRCODE = 'invalid_parameter_value';"] : [
            "ELSE",
            "    RAISE EXCEPTION '% is not a replicated table with counters', table_name",
            "        USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the table with its schema: SCHEMA.NAME.';",
            "END IF;",
        ]
        return """
            CREATE OR REPLACE FUNCTION omnisync.record_count(table_name text, row_key text[], column_name text, counted numeric) RETURNS void
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                AS $dispatch$
            DECLARE
                target regclass := to_regclass(table_name);
            BEGIN
                IF target IS NULL THEN
                    RAISE EXCEPTION 'table % does not exist', table_name
                        USING ERRCODE = 'undefined_table', HINT = 'Name the table with its schema: SCHEMA.NAME.';
                END IF;
            \(branches.map { "    " + $0 }.joined(separator: "\n"))
            END
            $dispatch$;
            COMMENT ON FUNCTION omnisync.record_count(text, text[], text, numeric) IS 'A physical count: sets one counter column of one row to counted as of everything this site had seen (CONTRACT §6.3).';
            """
    }
}
