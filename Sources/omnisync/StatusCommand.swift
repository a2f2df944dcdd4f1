import DaemonKit
import SyncEngine

/// `omnisync status`: per-site sync state, read from the sites' own tables.
struct StatusCommand: Subcommand {
    static let name = "status"
    static let summary = "show each site's reachability, backlog and open conflicts"
    static let discussion = [
        "Shows, per site: whether it can be reached, how many changes it has not yet",
        "delivered to each other site, the age of the oldest of them, and its open conflicts.",
        "Reads the sites' own tables, so it works while the daemon is stopped.",
    ]
    static let json = OptionSpec(long: "json", help: "print JSON instead of text")
    static let options = [json]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "at least one site was reached",
        .usage: "bad usage",
        .unavailable: "no site could be reached",
        .config: "configuration error",
    ]
    static let example = "omnisync status -c /etc/omnisync/omnisync.conf --json"

    let shared: SharedOptions
    let asJSON: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        asJSON = arguments.flag(Self.json.long)
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        let report = await StatusCollector(configuration: configuration).collect()
        Console.write(Omnisync.terminated(asJSON ? report.renderJSON() : report.renderText()), to: 1)
        guard report.anyReachable else {
            throw .unavailable(message: "no site could be reached")
        }
    }
}
