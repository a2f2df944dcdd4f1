import DaemonKit
import SyncEngine

/// `omnisync check`: every declared table at every site against its declaration.
struct CheckCommand: Subcommand {
    static let name = "check"
    static let summary = "check declared tables at every site against their declarations"
    static let discussion = [
        "Reads each [table SCHEMA.NAME] of the configuration at every site, or only at the one",
        "named by --site, and prints each problem with the site, table and column and its fix:",
        "a missing table or column, a key no primary key or unique index covers, a rule on a",
        "column of the wrong type, a serial column that would collide between sites, and, as",
        "warnings, foreign keys and unique indexes that rows arriving in any order can violate.",
        "Changes nothing. Fatal problems make migrate refuse the configuration.",
    ]
    static let site = OptionSpec(long: "site", valueName: "NAME", help: "check only this site")
    static let options = [site]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "no fatal problem (warnings are printed)",
        .usage: "bad usage, or --site names no site of the configuration",
        .unavailable: "a site could not be reached (the others were checked)",
        .config: "configuration error, or a fatal problem was found",
    ]
    static let example = "omnisync check -c /etc/omnisync/omnisync.conf --site store-042"

    let shared: SharedOptions
    let siteName: String?

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        siteName = try SharedOptions.siteName(arguments, Self.site, command: Self.name)
    }

    func run() async throws(CommandFailure) {
        let configuration: Configuration
        do {
            configuration = try Configuration.load(path: shared.configPath, allowingDeclaredTables: true)
        } catch {
            throw .configuration(message: error.description)
        }
        try SharedOptions.requireSite(siteName, in: configuration, command: Self.name)
        let report = await DeclarationCheck(configuration: configuration).run(siteName: siteName)
        for line in report.render() { Console.out(line) }
        for (site, reason) in report.unreachable {
            Console.err("omnisync: site \(site) unreachable: \(reason)")
        }
        if report.hasFatal { throw .configuration(message: nil) }
        if !report.unreachable.isEmpty { throw .unavailable(message: nil) }
    }
}
