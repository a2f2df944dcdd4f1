import MergeCore

/// Generates, from a table's capture description alone, the SQL that captures its local changes:
/// the state table, the capture trigger function (static plpgsql: no `EXECUTE` on the point of
/// sale's path), the clamp function for `greatest`/`least` columns, and the triggers. Pure and
/// deterministic — the same table gives the same text, which golden tests pin — and every name is
/// quoted. `migrate` installs the script in one transaction.
///
/// What the trigger does is `ReplicatedRow`'s local update, statement for statement (the
/// conformance test runs both on the same writes and compares the states):
/// 1. an UPDATE that changes no replicated column is no event; an INSERT always is;
/// 2. every write is checked before anything changes (a status moved back or out of its list, a
///    key changed, an UPDATE of an insert-only row, a refused DELETE): the statement fails;
/// 3. the site's entry of the row clock ticks; a stamp past the row's high-water mark is taken;
/// 4. counters add `new − old` to the site's contribution; `lww` and `status` columns store the
///    value with the stamp (a status also the clock it had seen); a DELETE resets every counter to
///    0 as of what the site had seen and records the deletion;
/// 5. the state is written back and the outbox names the row.
public enum CaptureDDL {
    /// The whole script for one table.
    public static func script(for table: CaptureTable) throws(SyntaxError) -> String {
        try stateTable(table) + "\n\n" + captureScript(for: table)
    }

    /// The functions and triggers alone, for a table whose state table exists.
    public static func captureScript(for table: CaptureTable) throws(SyntaxError) -> String {
        var parts = [try captureFunction(table)]
        if table.replicated.contains(where: { [.greatest, .least].contains($0.column.rule) }) {
            parts.append(try clampFunction(table))
        }
        if let count = try countFunction(table) { parts.append(count) }
        parts.append(try triggers(table))
        return parts.joined(separator: "\n\n") + "\n"
    }

    // MARK: - State table

    public static func stateTable(_ table: CaptureTable) throws(SyntaxError) -> String {
        let name = try CaptureNames.stateTable(table.name)
        var lines = table.key.map { "    \($0.name.quoted) \($0.type.name) NOT NULL," }
        for field in try table.stateFields() {
            let required = ["state_format", "sites", "versions", "max_hlc"].contains(field.name.name) ? " NOT NULL" : ""
            lines.append("    \(field.name.quoted) \(field.type.rawValue)\(required),")
        }
        lines.append("    PRIMARY KEY (\(table.key.map(\.name.quoted).joined(separator: ", ")))")
        return """
            CREATE TABLE \(name.sql) (
            \(lines.joined(separator: "\n"))
            );
            -- Every write updates its state row in place; free space on the page keeps those updates HOT.
            ALTER TABLE \(name.sql) SET (fillfactor = 50);
            COMMENT ON TABLE \(name.sql) IS \(literal("Replicated state of \(table.name) rows (state format \(StateEncoding.format)), written by its capture trigger and by omnisync."));
            """
    }

    // MARK: - Capture

    static func captureFunction(_ table: CaptureTable) throws(SyntaxError) -> String {
        let state = try CaptureNames.stateTable(table.name)
        let function = try CaptureNames.captureFunction(table.name)
        let replicated = table.replicated
        let keyList = table.key.map(\.name.description).joined(separator: ", ")
        let shown = literal(table.name.description)

        var declare = ["    me text;", "    st \(state.sql);", "    found_state boolean;", "    i int;", "    stamp bigint;",
                       "    stamped boolean := false;"]
        declare += table.key.indices.map { "    k_\($0 + 1) \(table.key[$0].type.name);" }
        for (index, column) in replicated {
            declare.append("    w_\(index) boolean := false;")
            if column.rule == .counter { declare.append("    d_\(index) bigint;") }
            if case .status = column.rule { declare.append("    r_\(index) int;") }
        }

        var body: [String] = ["IF omnisync.is_applying() THEN", "    RETURN NULL;", "END IF;"]
        switch table.rows {
        case .insertOnly:
            body += [
                "IF TG_OP <> 'INSERT' THEN",
                "    RAISE EXCEPTION 'rows of % are insert-only', \(shown)",
                "        USING ERRCODE = 'feature_not_supported', HINT = 'Record a correction as a new row.';",
                "END IF;",
            ]
        case .mutable(delete: .refuse):
            body += [
                "IF TG_OP = 'DELETE' THEN",
                "    RAISE EXCEPTION 'rows of % are never deleted', \(shown)",
                "        USING ERRCODE = 'feature_not_supported';",
                "END IF;",
            ]
        case .mutable(delete: .addWins):
            break
        }
        let keyChanged = table.key.map { "NEW.\($0.name.quoted) IS DISTINCT FROM OLD.\($0.name.quoted)" }
            .joined(separator: " OR ")
        body += [
            "IF TG_OP = 'UPDATE' AND (\(keyChanged)) THEN",
            "    RAISE EXCEPTION 'the key (%) of a % row cannot change', \(literal(keyList)), \(shown)",
            "        USING ERRCODE = 'feature_not_supported', HINT = 'Delete the row and insert a new one.';",
            "END IF;",
            "IF TG_OP = 'DELETE' THEN",
        ]
        body += table.key.indices.map { "    k_\($0 + 1) := OLD.\(table.key[$0].name.quoted);" }
        body.append("ELSE")
        body += table.key.indices.map { "    k_\($0 + 1) := NEW.\(table.key[$0].name.quoted);" }
        body += ["END IF;", "me := omnisync.require_site();"]
        let keyMatch = table.key.indices.map { "s.\(table.key[$0].name.quoted) = k_\($0 + 1)" }.joined(separator: " AND ")
        body += [
            "SELECT * INTO st FROM \(state.sql) AS s WHERE \(keyMatch) FOR UPDATE;",
            "found_state := FOUND;",
            "IF NOT found_state THEN",
            "    st.state_format := \(StateEncoding.format);",
            "    st.sites := '{}';",
            "    st.versions := '{}';",
            "    st.max_hlc := 0;",
        ]
        for (_, column) in replicated where column.rule == .counter {
            body.append("    st.\(try field(column, "contrib")) := '{}';")
        }
        body += [
            "ELSIF st.state_format IS DISTINCT FROM \(StateEncoding.format) THEN",
            "    RAISE EXCEPTION 'the sync state of this % row has format %; this capture writes format \(StateEncoding.format)', \(shown), st.state_format",
            "        USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';",
            "END IF;",
        ]

        // Pass 1: what the write changes, and whether it may.
        body.append("IF TG_OP <> 'DELETE' THEN")
        for (index, column) in replicated {
            let new = "NEW.\(column.name.quoted)", old = "OLD.\(column.name.quoted)"
            switch column.rule {
            case .counter:
                // A numeric(p,s) counter counts in units of 10^-s: the delta times 10^s is whole.
                let delta = "coalesce(\(new), 0) - CASE WHEN TG_OP = 'UPDATE' THEN coalesce(\(old), 0) ELSE 0 END"
                let scale = column.counterScale
                body += [
                    "    d_\(index) := " + (scale.decimals == 0 ? delta : "((\(delta)) * \(scale.factorLiteral))::bigint") + ";",
                    "    w_\(index) := d_\(index) <> 0;",
                ]
            case .lww, .immutable:
                body.append("    w_\(index) := TG_OP = 'INSERT' OR \(valueText(new, column)) IS DISTINCT FROM st.\(try field(column, "value"));")
            case .greatest, .least:
                body.append("    w_\(index) := \(valueText(new, column)) IS DISTINCT FROM st.\(try field(column, "value"));")
            case .status(let order):
                let list = "ARRAY[\(order.map(literal).joined(separator: ", "))]::text[]"
                let current = try field(column, "value")
                body += [
                    "    w_\(index) := \(new)::text IS DISTINCT FROM st.\(current);",
                    "    IF w_\(index) THEN",
                    "        IF \(new) IS NULL THEN",
                    "            RAISE EXCEPTION 'the status % of a % row cannot be set to NULL', \(literal(column.name.description)), \(shown)",
                    "                USING ERRCODE = 'check_violation';",
                    "        END IF;",
                    "        r_\(index) := array_position(\(list), \(new)::text);",
                    "        IF r_\(index) IS NULL THEN",
                    "            RAISE EXCEPTION '''%'' is not a status of %.% (%)', \(new), \(shown), \(literal(column.name.description)), \(literal(order.joined(separator: ", ")))",
                    "                USING ERRCODE = 'check_violation';",
                    "        END IF;",
                    "        IF st.\(current) IS NOT NULL AND r_\(index) < array_position(\(list), st.\(current)) THEN",
                    "            RAISE EXCEPTION 'status cannot go back from ''%'' to ''%''', st.\(current), \(new)",
                    "                USING ERRCODE = 'check_violation', HINT = \(literal("The order is " + order.joined(separator: ", ") + "."));",
                    "        END IF;",
                    "    END IF;",
                ]
            case .local:
                break
            }
        }
        let anyWrite = replicated.isEmpty ? "false" : replicated.map { "w_\($0.index)" }.joined(separator: " OR ")
        body += [
            "    IF TG_OP = 'UPDATE' AND NOT (\(anyWrite)) THEN",
            "        RETURN NULL;",
            "    END IF;",
            "END IF;",
        ]

        // Pass 2: the event.
        body += [
            "i := array_position(st.sites, me);",
            "IF i IS NULL THEN",
            "    st.sites := st.sites || me;",
            "    st.versions := st.versions || 0::bigint;",
        ]
        for (_, column) in replicated where column.rule == .counter {
            let contrib = try field(column, "contrib")
            body.append("    st.\(contrib) := st.\(contrib) || 0::bigint;")
        }
        body += [
            "    i := cardinality(st.sites);",
            "END IF;",
            "st.versions[i] := st.versions[i] + 1;",
            "stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);",
        ]
        if table.deletesAddWins {
            body += [
                "IF TG_OP = 'DELETE' THEN",
                "    st.deleted_hlc := stamp;",
                "    st.deleted_site := me;",
                "    st.deleted_sites := st.sites;",
                "    st.deleted_versions := st.versions;",
            ]
        }
        for (_, column) in replicated where column.rule == .counter && table.deletesAddWins {
            body += [
                "    st.\(try field(column, "reset_hlc")) := stamp;",
                "    st.\(try field(column, "reset_site")) := me;",
                "    st.\(try field(column, "reset_base")) := 0;",
                "    st.\(try field(column, "reset_sites")) := st.sites;",
                "    st.\(try field(column, "reset_versions")) := st.versions;",
                "    st.\(try field(column, "reset_observed")) := st.\(try field(column, "contrib"));",
            ]
        }
        if table.deletesAddWins { body += ["    st.max_hlc := stamp;", "ELSE"] }
        // Without add-wins deletes only an INSERT or UPDATE gets here.
        let indent = table.deletesAddWins ? "" : "    "
        var writes: [String] = []
        for (index, column) in replicated {
            let new = "NEW.\(column.name.quoted)"
            switch column.rule {
            case .counter:
                let contrib = try field(column, "contrib")
                writes += ["    IF w_\(index) THEN", "        st.\(contrib)[i] := st.\(contrib)[i] + d_\(index);", "    END IF;"]
            case .lww, .immutable:
                writes += [
                    "    IF w_\(index) THEN",
                    "        st.\(try field(column, "value")) := \(valueText(new, column));",
                    "        st.\(try field(column, "hlc")) := stamp;",
                    "        st.\(try field(column, "site")) := me;",
                    "        stamped := true;",
                    "    END IF;",
                ]
            case .greatest, .least:
                writes += ["    IF w_\(index) THEN", "        st.\(try field(column, "value")) := \(valueText(new, column));", "    END IF;"]
            case .status:
                writes += [
                    "    IF w_\(index) THEN",
                    "        st.\(try field(column, "value")) := \(new)::text;",
                    "        st.\(try field(column, "hlc")) := stamp;",
                    "        st.\(try field(column, "site")) := me;",
                    "        st.\(try field(column, "seen_sites")) := st.sites;",
                    "        st.\(try field(column, "seen_versions")) := st.versions;",
                    "        stamped := true;",
                    "    END IF;",
                ]
            case .local:
                break
            }
        }
        writes += ["    IF stamped THEN", "        st.max_hlc := stamp;", "    END IF;"]
        body += writes.map { String($0.dropFirst(indent.count)) }
        if table.deletesAddWins { body.append("END IF;") }

        let fields = try table.stateFields().map(\.name.quoted)
        let keys = table.key.map(\.name.quoted)
        body += [
            "IF found_state THEN",
            "    UPDATE \(state.sql) AS s SET \(fields.map { "\($0) = st.\($0)" }.joined(separator: ", "))",
            "     WHERE \(keyMatch);",
            "ELSE",
            "    INSERT INTO \(state.sql) (\((keys + fields).joined(separator: ", ")))",
            "        VALUES (\((table.key.indices.map { "k_\($0 + 1)" } + fields.map { "st.\($0)" }).joined(separator: ", ")));",
            "END IF;",
        ] + outboxInsert(table) + ["RETURN NULL;"]
        return plpgsqlFunction(
            function.sql + "()", returns: "trigger", tag: "capture", declare: declare, body: body,
            comment: "Captures local changes of \(table.name) into its sync state and the outbox (generated).")
    }

    /// The outbox record naming the row (`k_1`, … hold its key): the first two key columns where v1
    /// kept them, and the whole key, of any width, in `row_key`.
    static func outboxInsert(_ table: CaptureTable) -> [String] {
        [
            "INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)",
            "    VALUES (\(table.id.rawValue), k_1::text, \(table.key.count > 1 ? "k_2::text" : "NULL"), "
                + "ARRAY[\(table.key.indices.map { "k_\($0 + 1)::text" }.joined(separator: ", "))]);",
        ]
    }

    /// A plpgsql function; `signature` is its quoted name with the parameter list.
    static func plpgsqlFunction(
        _ signature: String, returns: String, tag: String, declare: [String], body: [String], comment: String
    ) -> String {
        let argumentTypes = signature.hasSuffix("()") ? "()" : "(" + argumentTypesOf(signature) + ")"
        let name = signature[..<(signature.firstIndex(of: "(") ?? signature.endIndex)]
        return """
            CREATE FUNCTION \(signature) RETURNS \(returns)
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                AS $\(tag)$
            DECLARE
            \(declare.joined(separator: "\n"))
            BEGIN
            \(body.map { "    " + $0 }.joined(separator: "\n"))
            END
            $\(tag)$;
            COMMENT ON FUNCTION \(name)\(argumentTypes) IS \(literal(comment));
            """
    }

    /// `text[], text, bigint` from `f(row_key text[], column_name text, counted bigint)`.
    private static func argumentTypesOf(_ signature: String) -> String {
        guard let open = signature.firstIndex(of: "("), let close = signature.lastIndex(of: ")") else { return "" }
        return signature[signature.index(after: open)..<close].split(separator: ",").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " ")
        }.joined(separator: ", ")
    }

    // MARK: - Clamp

    /// `greatest` / `least` columns show the merged extreme at once: a smaller write to a
    /// `greatest` column leaves the greater value in the row, as every other site will show it.
    static func clampFunction(_ table: CaptureTable) throws(SyntaxError) -> String {
        let state = try CaptureNames.stateTable(table.name)
        let function = try CaptureNames.clampFunction(table.name)
        let columns = table.replicated.filter { [.greatest, .least].contains($0.column.rule) }
        var declare: [String] = []
        var selected: [String] = []
        var body: [String] = ["IF omnisync.is_applying() THEN", "    RETURN NEW;", "END IF;"]
        for (index, column) in columns {
            declare.append("    v_\(index) text;")
            selected.append("s.\(try field(column, "value"))")
        }
        let keyMatch = table.key.map { "s.\($0.name.quoted) = NEW.\($0.name.quoted)" }.joined(separator: " AND ")
        body.append("SELECT \(selected.joined(separator: ", ")) INTO \(columns.map { "v_\($0.index)" }.joined(separator: ", ")) FROM \(state.sql) AS s WHERE \(keyMatch);")
        for (index, column) in columns {
            let new = "NEW.\(column.name.quoted)"
            let stored = "v_\(index)", written = valueText(new, column)
            let beyond = column.rule == .greatest ? ">" : "<"
            let keeps: String
            if column.type.comparesAsNumber {
                keeps = "\(stored)::numeric \(beyond) \(new)::numeric OR (\(stored)::numeric = \(new)::numeric AND \(stored) COLLATE \"C\" \(beyond) \(written) COLLATE \"C\")"
            } else {
                keeps = "\(stored) COLLATE \"C\" \(beyond) \(written) COLLATE \"C\""
            }
            body += [
                "IF \(stored) IS NOT NULL AND (\(new) IS NULL OR \(keeps)) THEN",
                "    \(new) := \(stored)::\(column.type.name);",
                "END IF;",
            ]
        }
        body.append("RETURN NEW;")
        return plpgsqlFunction(
            function.sql + "()", returns: "trigger", tag: "clamp", declare: declare, body: body,
            comment: "Keeps the greatest/least columns of \(table.name) at their merged extreme (generated).")
    }

    // MARK: - Triggers

    static func triggers(_ table: CaptureTable) throws(SyntaxError) -> String {
        let target = table.name.sql
        var lines = [
            "CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON \(target)",
            "    FOR EACH ROW EXECUTE FUNCTION \(try CaptureNames.captureFunction(table.name).sql)();",
            "CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON \(target)",
            "    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();",
            "CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON \(target)",
            "    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();",
        ]
        if table.replicated.contains(where: { [.greatest, .least].contains($0.column.rule) }) {
            lines += [
                "CREATE TRIGGER clamp BEFORE INSERT OR UPDATE ON \(target)",
                "    FOR EACH ROW EXECUTE FUNCTION \(try CaptureNames.clampFunction(table.name).sql)();",
            ]
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Pieces

    private static func field(_ column: CaptureTable.Column, _ suffix: String) throws(SyntaxError) -> String {
        try CaptureNames.field(column.name, suffix).quoted
    }

    /// The text a value is stored and shipped as. Times are written in UTC with a fixed width, so
    /// their byte order is their order whatever the writing session's TimeZone or DateStyle.
    public static func valueText(_ expression: String, _ column: CaptureTable.Column) -> String {
        switch column.type.baseName {
        case "timestamp with time zone", "timestamptz":
            return "to_char(\(expression) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        case "timestamp without time zone", "timestamp":
            return "to_char(\(expression), 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        case "date":
            return "to_char(\(expression), 'YYYY-MM-DD')"
        default:
            return "\(expression)::text"
        }
    }

    /// A SQL string literal.
    static func literal(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
