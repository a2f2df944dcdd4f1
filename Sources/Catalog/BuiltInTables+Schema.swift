/// The retail tables of CONTRACT §7 are installed from their specs: the table, its state table and
/// its capture are all generated, as for any declared table. (v1's five tables keep the triggers
/// written by hand in schema/0003, which the conformance tests hold to the same rules.)
extension BuiltInTables {
    /// The built-in tables whose capture is generated, in id order.
    public static let generatedCapture: [TableSpec] = [customers, loyalty, orderStatus]

    /// What the database holds for a built-in table once installed: its columns as the spec types
    /// them, in the spec's order, the key as the primary key.
    static func facts(of spec: TableSpec) -> TableFacts {
        let key = spec.key ?? []
        let columns = key.map { TableFacts.Column(name: $0.name.name, type: $0.type?.name ?? "text", notNull: true) }
            + spec.columns.map { column in
                // A counter starts at 0 and a status is never NULL (capture refuses it).
                let required: Bool
                switch column.rule {
                case .counter?, .status?: required = true
                default: required = false
                }
                return TableFacts.Column(
                    name: column.name.name, type: column.type?.name ?? "text", notNull: required,
                    hasDefault: column.rule == .counter)
            }
        return TableFacts(columns: columns, indexes: [.init(name: "\(spec.name.name.name)_pkey", columns: key.map(\.name.name), isPrimary: true, isUnique: true)])
    }

    /// A built-in table as capture needs it; its types and rules are fixed, so nothing is read
    /// from a database.
    public static func captureTable(_ spec: TableSpec) -> CaptureTable {
        let (table, problems) = TableResolver.resolve(spec, facts: facts(of: spec))
        guard let table, problems.isEmpty else {
            preconditionFailure("built-in table \(spec.name) does not resolve: \(problems)")
        }
        return table
    }

    /// The `CREATE TABLE` of a built-in table: counters `NOT NULL DEFAULT 0`, statuses `NOT NULL`.
    static func createTable(_ spec: TableSpec) -> String {
        let facts = facts(of: spec)
        let lines = facts.columns.map { column in
            "    \(SQLIdentifier(unchecked: column.name).quoted) \(column.type)"
                + (column.notNull ? " NOT NULL" : "") + (column.hasDefault ? " DEFAULT 0" : "") + ","
        } + ["    PRIMARY KEY (\((spec.key ?? []).map(\.name.quoted).joined(separator: ", ")))"]
        return "CREATE TABLE \(spec.name.sql) (\n" + lines.joined(separator: "\n") + "\n);"
    }

    /// What each §7 table is for, as its comment in the database says.
    static func purpose(of spec: TableSpec) -> String {
        switch spec.id {
        case customers.id: return "Customers, known in every channel. Each column: the last write wins. Never deleted."
        case loyalty.id:
            return "Loyalty points per customer: earned and redeemed in any channel, they add up; a count resets them "
                + "(omnisync.record_count). Below zero after a merge: an over_redeem conflict. Never deleted."
        case orderStatus.id:
            return "Click and collect: where an order is to be collected, and its status, which only moves forward ("
                + orderStatuses.joined(separator: ", ") + "); concurrent moves: a concurrent_status conflict. Never deleted."
        default: return "A retail table replicated by omnisync."
        }
    }

    /// The migration that installs the §7 tables (schema/0007); a test keeps the file equal to it.
    public static func generatedCaptureMigration() throws(SyntaxError) -> String {
        var parts = [
            """
            -- omnisync schema, migration 0007: customers, loyalty points and click-and-collect status (CONTRACT §7).
            -- Forward-only: never edit a released migration; add the next number instead.
            --
            -- Generated from the built-in specs (Sources/Catalog/BuiltInTables.swift) by CaptureDDL:
            -- each table, its state table, its capture trigger and, for loyalty points, its count
            -- function, reached through omnisync.record_count. Do not edit; a test compares this file
            -- with what the generator writes (OMNISYNC_UPDATE_SCHEMA=1 swift test rewrites it, then
            -- scripts/embed-schema.sh).
            """,
        ]
        let tables = generatedCapture.map(captureTable)
        for (spec, table) in zip(generatedCapture, tables) {
            parts.append(createTable(spec) + "\nCOMMENT ON TABLE \(spec.name.sql) IS \(CaptureDDL.literal(purpose(of: spec)));")
            parts.append(try CaptureDDL.script(for: table).trimmingTrailingNewlines)
        }
        parts.append(try CaptureDDL.recordCountDispatcher(for: tables))
        return parts.joined(separator: "\n\n") + "\n"
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while text.last == "\n" { text.removeLast() }
        return String(text)
    }
}
