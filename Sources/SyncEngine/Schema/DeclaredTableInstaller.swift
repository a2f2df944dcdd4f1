import Catalog
import Postgres

/// Installs, upgrades and removes the capture of the application's declared tables at one site,
/// inside `migrate`'s transaction, and records what it installed (`omnisync.declared_table`) and
/// the catalog's hash (`omnisync.site.catalog_hash`).
///
/// - A table seen for the first time gets its state table, capture and count functions and
///   triggers, and every row it already holds is captured as this site's insert
///   (`CaptureDDL.seedScript`).
/// - A table whose description changed (a column added to the declaration or to the table, a rule
///   changed) gets the missing state fields and a new capture; its states are kept.
/// - A table no longer declared loses its triggers and functions; its state table stays, so
///   declaring it again later carries on from the states.
enum DeclaredTableInstaller {
    /// What changed at the site, one line per table (`pos.inventory: installed, 12 existing rows captured`).
    typealias Changes = [String]

    static func install(
        _ transaction: Transaction, declared: [CaptureTable], catalog: TableCatalog
    ) throws(PostgresError) -> Changes {
        var recorded: [Int32: (name: String, description: String)] = [:]
        for row in try transaction.query(DeclaredTableRecords.select, label: "read declared tables").rows {
            guard let id = row[0].flatMap({ Int32($0) }) else { continue }
            recorded[id] = (row[1] ?? "", row[2] ?? "")
        }
        var changes: Changes = []
        for table in declared.sorted(by: { $0.name < $1.name }) {
            let description = table.descriptionText
            let previous = recorded.removeValue(forKey: table.id.rawValue)
            if previous?.description == description { continue }
            let state = try sql { () throws(SyntaxError) in try CaptureNames.stateTable(table.name) }
            let hasState = try transaction.query(
                "SELECT to_regclass($1) IS NOT NULL", [state.sql], label: "look for state table").rows.first?[0] == "t"
            var script = try sql { () throws(SyntaxError) in try CaptureDDL.removeCaptureScript(for: table) }
            script += try sql { () throws(SyntaxError) in
                hasState ? try CaptureDDL.stateUpgradeScript(for: table) : try CaptureDDL.stateTable(table) + "\n"
            }
            script += try sql { () throws(SyntaxError) in try CaptureDDL.captureScript(for: table) }
            try transaction.execute(script: script, label: "install capture of \(table.name)")
            let seeded = try transaction.query(
                "SELECT count(*)::text FROM \(table.name.sql) AS r WHERE NOT EXISTS (SELECT 1 FROM \(state.sql) AS s WHERE "
                    + table.key.map { "s.\($0.name.quoted) = r.\($0.name.quoted)" }.joined(separator: " AND ") + ")",
                label: "count rows without state").rows.first?[0].flatMap { Int($0) } ?? 0
            if seeded > 0 {
                try transaction.execute(
                    script: try sql { () throws(SyntaxError) in try CaptureDDL.seedScript(for: table) },
                    label: "capture existing rows of \(table.name)")
            }
            _ = try transaction.query(
                """
                INSERT INTO omnisync.declared_table (table_id, name, state_table, description) VALUES ($1::int, $2, $3, $4)
                ON CONFLICT (table_id) DO UPDATE
                SET name = EXCLUDED.name, state_table = EXCLUDED.state_table, description = EXCLUDED.description, installed_at = now()
                """,
                [String(table.id.rawValue), table.name.sql, state.sql, description], label: "record declared table")
            let what = previous == nil ? (hasState ? "installed again" : "installed") : "capture updated"
            changes.append("\(table.name): \(what)" + (seeded > 0 ? ", \(seeded) existing row(s) captured" : ""))
        }
        for (id, old) in recorded.sorted(by: { $0.key < $1.key }) {
            // No longer declared: stop capturing, keep the states.
            if let table = try? CaptureTable(descriptionText: old.description) {
                try transaction.execute(
                    script: try sql { () throws(SyntaxError) in try CaptureDDL.removeCaptureScript(for: table) },
                    label: "remove capture of \(old.name)")
            }
            _ = try transaction.query(
                "DELETE FROM omnisync.declared_table WHERE table_id = $1::int", [String(id)], label: "forget declared table")
            changes.append("\(old.name): no longer declared, capture removed (its states are kept)")
        }
        if !changes.isEmpty {
            let dispatcher = try sql { () throws(SyntaxError) in
                try CaptureDDL.recordCountDispatcher(for: GeneratedTables.builtInCaptureTables + declared)
            }
            try transaction.execute(script: dispatcher, label: "install omnisync.record_count")
        }
        // Rows held here for a declared table (a column dropped and since restored, a table
        // recreated) are shipped again once the daemon comes by; those that still fail come back.
        let retried = try transaction.query(
            "UPDATE omnisync.quarantine SET retry = true WHERE table_id >= $1::int AND NOT retry AND reason <> $2 RETURNING 1",
            [String(TableID.firstDerived), Quarantine.lockWaitReason], label: "retry quarantined declared rows").rows.count
        if retried > 0 { changes.append("\(retried) quarantined row(s) of declared tables to be retried") }
        let hashChanged = try transaction.query(
            "UPDATE omnisync.site SET catalog_hash = $1 WHERE catalog_hash IS DISTINCT FROM $1 RETURNING 1", [catalog.hash],
            label: "record catalog hash").rows.count > 0
        if hashChanged, changes.isEmpty, catalog.tables.contains(where: { !$0.isBuiltIn }) {
            changes.append("table catalog recorded")
        }
        return changes
    }

    /// A generated script that cannot be generated (a name beyond PostgreSQL's limits) fails the
    /// migration with the reason, as a statement would.
    private static func sql<Generated>(_ body: () throws(SyntaxError) -> Generated) throws(PostgresError) -> Generated {
        do {
            return try body()
        } catch {
            throw PostgresError(category: .invalidInput, sqlState: nil, message: error.message, statement: "generate capture")
        }
    }
}
