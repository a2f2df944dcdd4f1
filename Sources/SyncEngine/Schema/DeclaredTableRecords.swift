import Catalog
import Postgres

/// What `migrate` recorded at a site about the application's declared tables
/// (`omnisync.declared_table`, `omnisync.site.catalog_hash`), read back by every daemon session and
/// by the commands that read rows: the tables as they were installed, once the site is known to
/// have been migrated for this configuration's catalog.
enum DeclaredTableRecords {
    static let select = "SELECT table_id::text, name, description FROM omnisync.declared_table ORDER BY table_id"
    static let selectHash = "SELECT catalog_hash FROM omnisync.site"

    /// The declared tables installed at `site`, or why the site must not be synced with `catalog`.
    static func read(
        _ connection: some StatementRunner, site: String, catalog: TableCatalog
    ) throws(PostgresError) -> Result<[CaptureTable], SiteProblem> {
        let recorded = try connection.query(selectHash, label: "read catalog hash").rows.first?[0] ?? nil
        let rows = try connection.query(select, label: "read declared tables").rows
        let declares = catalog.tables.contains { !$0.isBuiltIn }
        // A site migrated before catalogs were recorded has the built-in tables only.
        let matches = recorded == catalog.hash || (recorded == nil && !declares && rows.isEmpty)
        guard matches else {
            return .failure(SiteProblem(
                site: site,
                message: "the site was migrated for other [table] declarations than this configuration's"
                    + " (catalog \(recorded.map { String($0.prefix(12)) } ?? "none") here, \(catalog.hash.prefix(12)) in the file);"
                    + " run omnisync migrate --site \(site), then reload the daemon"))
        }
        var tables: [CaptureTable] = []
        for row in rows {
            let name = row[1] ?? "?"
            do {
                tables.append(try CaptureTable(descriptionText: row[2] ?? ""))
            } catch {
                return .failure(SiteProblem(
                    site: site, message: "the recorded description of \(name) cannot be read (\(error.message)); run omnisync migrate --site \(site)"))
            }
        }
        let installed = Set(tables.map(\.id))
        for spec in catalog.tables where !spec.isBuiltIn && !installed.contains(spec.id) {
            return .failure(SiteProblem(
                site: site, message: "\(spec.name) is declared but its capture is not installed; run omnisync migrate --site \(site)"))
        }
        return .success(tables)
    }

    /// The tables a command reads from one site: the built-in ones and those installed there.
    /// Throws the site's problem when it was migrated for another catalog.
    static func tables(_ connection: some StatementRunner, site: String, catalog: TableCatalog) throws -> GeneratedTables {
        switch try read(connection, site: site, catalog: catalog) {
        case .success(let declared): return try .with(declared: declared, catalog: catalog)
        case .failure(let problem): throw problem
        }
    }
}
