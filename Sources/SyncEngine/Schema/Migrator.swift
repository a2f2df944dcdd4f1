import Catalog
import DaemonKit
import Foundation
import Postgres

/// What `omnisync migrate` did at one site.
public struct SiteMigrationResult: Sendable {
    public enum Outcome: Sendable {
        case migrated(from: Int, to: Int)
        case upToDate(version: Int)
        case unreachable(message: String)
        case belongsToOtherSite(recorded: String)
        case failed(message: String)
    }

    public let site: String
    public let outcome: Outcome
    /// What changed in the capture of declared tables, one line per table.
    public let tableChanges: [String]

    public init(site: String, outcome: Outcome, tableChanges: [String] = []) {
        self.site = site
        self.outcome = outcome
        self.tableChanges = tableChanges
    }
}

/// Installs or upgrades the schema in each site, idempotently, and records the site's name so
/// that the database is never mistaken for another site.
public struct Migrator: Sendable {
    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Migrates every site, or only `siteName`; every site is attempted even if one fails.
    public func migrate(siteName: String?) async -> [SiteMigrationResult] {
        let sites = configuration.sites.filter { siteName == nil || $0.name == siteName }
        guard !sites.isEmpty else {
            return [SiteMigrationResult(
                site: siteName ?? "?",
                outcome: .failed(message: "no [site \(siteName ?? "")] in \(configuration.path)"))]
        }
        return await withTaskGroup(of: (Int, SiteMigrationResult).self) { group in
            for (index, site) in sites.enumerated() {
                group.addTask { (index, await migrate(site)) }
            }
            var results: [(Int, SiteMigrationResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func migrate(_ site: SiteConfig) async -> SiteMigrationResult {
        let session = PostgresSession(conninfo: site.conninfo, label: "\(site.name)/migrate")
        let result = await migrate(site, on: session)
        await session.disconnect()
        return result
    }

    private func migrate(_ site: SiteConfig, on session: PostgresSession) async -> SiteMigrationResult {
        let name = site.name
        let started = ContinuousClock.now
        do {
            let catalog = configuration.catalog
            let (outcome, changes) = try await session.withConnection { try Migrator.migrate($0, site: name, catalog: catalog) }
            let ms = String(format: "%.0f", (ContinuousClock.now - started).seconds * 1000)
            switch outcome {
            case .migrated(let from, let to):
                logger.notice("schema migrated", [LogKey.site: name, "from": from, "to": to, LogKey.durationMs: ms])
            case .upToDate(let version):
                logger.info("schema up to date", [LogKey.site: name, LogKey.version: version])
            case .belongsToOtherSite(let recorded):
                logger.error("database belongs to another site", [LogKey.site: name, "recorded": recorded])
            case .failed(let message):
                logger.error("migration refused", [LogKey.site: name, LogKey.error: message])
            case .unreachable:
                break
            }
            for change in changes {
                logger.notice("declared table migrated", [LogKey.site: name, "change": change])
            }
            return SiteMigrationResult(site: name, outcome: outcome, tableChanges: changes)
        } catch let error as PostgresError where error.category == .connection {
            logger.error("site unreachable", [LogKey.site: name, LogKey.error: error.description])
            return SiteMigrationResult(site: name, outcome: .unreachable(message: error.description))
        } catch {
            logger.error("migration failed", [LogKey.site: name, LogKey.error: "\(error)"])
            return SiteMigrationResult(site: name, outcome: .failed(message: "\(error)"))
        }
    }

    /// One site, in one transaction under an advisory lock, so concurrent runs serialize and a
    /// failure leaves the database as it was.
    static func migrate(
        _ connection: PostgresConnection, site: String, catalog: TableCatalog = .builtIn
    ) throws(PostgresError) -> (SiteMigrationResult.Outcome, [String]) {
        try connection.transaction(label: "migrate") { transaction throws(PostgresError) -> (SiteMigrationResult.Outcome, [String]) in
            _ = try transaction.query(
                "SELECT pg_advisory_xact_lock(hashtext('omnisync migrate'))", label: "lock migrations")
            let identity = try SiteIdentity.read(transaction)
            if let recorded = identity?.name, recorded != site {
                return (.belongsToOtherSite(recorded: recorded), [])
            }
            let from = identity?.version ?? 0
            let latest = Migration.latestVersion
            if from > latest {
                return (.failed(
                    message: "schema version \(from) is newer than this omnisync's \(latest); upgrade omnisync"), [])
            }
            for migration in Migration.all where migration.version > from {
                try transaction.execute(script: migration.sql, label: "migration \(migration.name)")
                _ = try transaction.query(
                    "INSERT INTO omnisync.schema_migrations (version, name) VALUES ($1::int, $2)",
                    [String(migration.version), migration.name], label: "record migration")
            }
            if identity?.name == nil {
                _ = try transaction.query("INSERT INTO omnisync.site (name) VALUES ($1)", [site], label: "record site name")
            }
            let changes = try DeclaredTableInstaller.install(
                transaction, declared: try resolve(catalog, in: transaction), catalog: catalog)
            return (from == latest && identity?.name != nil ? .upToDate(version: latest) : .migrated(from: from, to: latest), changes)
        }
    }

    /// The declared tables as this site's database has them. A fatal problem (what `check` reports
    /// as fatal) fails the migration, which rolls back: nothing is changed.
    static func resolve(_ catalog: TableCatalog, in transaction: Transaction) throws(PostgresError) -> [CaptureTable] {
        var tables: [CaptureTable] = []
        var fatal: [String] = []
        for spec in catalog.tables where !spec.isBuiltIn {
            let facts = try TableIntrospector.facts(of: spec.name, connection: transaction)
            let resolved = TableResolver.resolve(spec, facts: facts)
            let problems = resolved.problems.filter { $0.severity == .fatal }
            fatal += problems.map { problem in
                (problem.column.map { "\(problem.table) column \($0)" } ?? "\(problem.table)") + ": \(problem.message)"
            }
            if problems.isEmpty, let table = resolved.table { tables.append(table) }
        }
        guard fatal.isEmpty else {
            throw PostgresError(
                category: .invalidInput, sqlState: nil,
                message: fatal.joined(separator: "; ") + " (omnisync check prints the fixes)", statement: "resolve declared tables")
        }
        return tables
    }
}
