import Postgres

/// Checks that a database is the site the configuration says it is, at the schema version
/// this binary expects, before anything is read from or written to it.
enum SiteIdentity {
    static let query = """
        SELECT to_regclass('omnisync.site') IS NOT NULL,
               to_regclass('omnisync.schema_migrations') IS NOT NULL
        """
    static let details = "SELECT (SELECT name FROM omnisync.site), (SELECT max(version) FROM omnisync.schema_migrations)"

    /// The recorded site name and schema version (nil when not migrated at all).
    static func read(_ connection: some StatementRunner) throws(PostgresError) -> (name: String?, version: Int)? {
        let present = try connection.query(query, label: "look for omnisync schema")
        guard present.rows.first?[0] == "t", present.rows.first?[1] == "t" else { return nil }
        let row = try connection.query(details, label: "read site identity").rows.first
        return (row?[0] ?? nil, Int(row?[1] ?? "") ?? 0)
    }

    /// `problem(_:site:)`, thrown: for the commands, which report a site's problem as its error.
    static func verify(_ connection: some StatementRunner, site: String) throws {
        if let problem = try problem(connection, site: site) { throw problem }
    }

    /// Why the database must not be synced as `site`, if it must not: an outcome, not a failure
    /// (the check itself ran).
    static func problem(_ connection: some StatementRunner, site: String) throws(PostgresError) -> SiteProblem? {
        guard let identity = try read(connection) else {
            return SiteProblem(site: site, message: "omnisync schema not installed; run omnisync migrate --site \(site)")
        }
        guard let recorded = identity.name else {
            return SiteProblem(site: site, message: "no site name recorded; run omnisync migrate --site \(site)")
        }
        guard recorded == site else {
            return SiteProblem(
                site: site,
                message: "database belongs to site \(recorded), not \(site); check the conninfo of [site \(site)]")
        }
        let expected = Migration.latestVersion
        if identity.version < expected {
            return SiteProblem(
                site: site,
                message: "schema version \(identity.version) is older than this omnisync's \(expected); run omnisync migrate --site \(site)")
        }
        if identity.version > expected {
            return SiteProblem(
                site: site,
                message: "schema version \(identity.version) is newer than this omnisync's \(expected); upgrade omnisync")
        }
        return nil
    }
}
