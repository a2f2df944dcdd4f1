import DaemonKit
import SyncEngine

/// `omnisync migrate`: installs or upgrades the schema in every site, or one.
struct MigrateCommand: Subcommand {
    static let name = "migrate"
    static let summary = "install or upgrade the omnisync schema in every site (or one)"
    static let discussion = [
        "Installs or upgrades the omnisync schema in every site of the configuration, or only",
        "in the one named by --site. Safe to repeat: a site already up to date is left alone.",
        "Each site's name is recorded in its database, and a database that already belongs to",
        "another site name is refused. An unreachable site does not stop the others.",
        "",
        "Declared tables ([table SCHEMA.NAME]) are checked first at every site, as",
        "'omnisync check' does: if any problem is fatal, nothing is changed anywhere (exit 78).",
        "Then each table gets its state table, capture triggers and count function, and the",
        "rows it already holds are captured as that site's inserts. After a migrate that changes",
        "declarations, reload the daemon (omnisync reload).",
    ]
    static let site = OptionSpec(long: "site", valueName: "NAME", help: "migrate only this site")
    static let options = [site]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "every site migrated or already up to date",
        .failure: "a migration failed",
        .usage: "bad usage, or --site names no site of the configuration",
        .unavailable: "a site could not be reached (the others were migrated)",
        .config: "configuration error, a database of another site, or a fatal check problem",
    ]
    static let example = "omnisync migrate -c /etc/omnisync/omnisync.conf --site store-042"

    let shared: SharedOptions
    let siteName: String?

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        siteName = try SharedOptions.siteName(arguments, Self.site, command: Self.name)
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        try SharedOptions.requireSite(siteName, in: configuration, command: Self.name)
        let handler = StderrLogHandler(
            minimumLevel: configuration.daemon.logLevel, format: configuration.daemon.logFormat)
        let migrator = Migrator(configuration: configuration, logger: Logger(handler: handler))
        if !configuration.declaredTables.isEmpty {
            // Every site first: a fatal problem at one changes nothing at any.
            let report = await DeclarationCheck(configuration: configuration).run(siteName: siteName)
            if report.hasFatal {
                for line in report.render() { Console.err(line) }
                throw .configuration(message: "declared tables have fatal problems; nothing was migrated")
            }
        }

        var belongsElsewhere = false
        var failed = false
        var unreachable = false
        for result in await migrator.migrate(siteName: siteName) {
            switch result.outcome {
            case .migrated(let from, let to):
                Console.out("\(result.site): migrated from version \(from) to \(to)")
            case .upToDate(let version):
                Console.out("\(result.site): up to date (version \(version))")
            case .unreachable(let message):
                Console.err("omnisync: site \(result.site) unreachable: \(message)")
                unreachable = true
            case .belongsToOtherSite(let recorded):
                Console.err(
                    "omnisync: site \(result.site): the database belongs to site '\(recorded)',"
                        + " not '\(result.site)'; check conninfo in \(configuration.path)")
                belongsElsewhere = true
            case .failed(let message):
                Console.err("omnisync: site \(result.site): migration failed: \(message)")
                failed = true
            }
            for change in result.tableChanges { Console.out("\(result.site): \(change)") }
        }
        // The status names the most serious problem: a database given to the wrong site, then
        // a failed migration, then a site that was merely out of reach.
        if belongsElsewhere { throw .configuration(message: nil) }
        if failed { throw .failed(message: nil) }
        if unreachable { throw .unavailable(message: nil) }
    }
}
