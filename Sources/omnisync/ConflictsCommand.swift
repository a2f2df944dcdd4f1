import DaemonKit
import SyncEngine

/// `omnisync conflicts`: lists the conflicts the daemon recorded for a person.
struct ConflictsCommand: Subcommand {
    static let name = "conflicts"
    static let summary = "list conflicts the daemon could not resolve alone"
    static let discussion = [
        "Lists the open conflicts (over_return, oversell, concurrent_count, duplicate_key)",
        "that the daemon recorded for a person to look at; with --all, the resolved ones",
        "too. With --json, prints one JSON object per line with at least id, kind, site,",
        "detected_at and detail.",
        "Once dealt with, mark one resolved with: omnisync conflicts resolve ID",
    ]
    static let json = OptionSpec(long: "json", help: "print one JSON object per line")
    static let all = OptionSpec(long: "all", help: "include resolved conflicts")
    static let options = [json, all]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "listed (possibly none)",
        .usage: "bad usage",
        .unavailable: "no site could be reached",
        .config: "configuration error",
    ]
    static let example = "omnisync conflicts -c /etc/omnisync/omnisync.conf --json"

    let shared: SharedOptions
    let asJSON: Bool
    let includeResolved: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        asJSON = arguments.flag(Self.json.long)
        includeResolved = arguments.flag(Self.all.long)
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        let listing = await ConflictLog(configuration: configuration).list(includeResolved: includeResolved)
        Console.write(Omnisync.terminated(listing.render(json: asJSON)), to: 1)
        // On stderr, so that the listing (one JSON object per line) stays clean.
        for site in listing.unreachable {
            Console.err("omnisync: site \(site) unreachable")
        }
        guard listing.anyReachable else {
            throw .unavailable(message: "no site could be reached")
        }
    }
}
