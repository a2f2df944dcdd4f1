import DaemonKit
import SyncEngine

/// `omnisync verify`: checks that every site holds the same reconciled state.
struct VerifyCommand: Subcommand {
    static let name = "verify"
    static let summary = "check that every site holds the same reconciled state"
    static let discussion = [
        "Compares the reconciled state of every site and checks each site's own bookkeeping.",
        "Prints each difference (site, table, key, values). A change not yet delivered",
        "everywhere is a difference too, so run it once writes have stopped and the daemon",
        "has caught up.",
    ]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "every site holds the same state",
        .failure: "differences were found (printed on stdout)",
        .usage: "bad usage",
        .unavailable: "a site could not be reached",
        .config: "configuration error",
    ]
    static let example = "omnisync verify -c /etc/omnisync/omnisync.conf"

    let shared: SharedOptions

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        let report = await Verifier(configuration: configuration).verify()
        Console.write(Omnisync.terminated(report.render()), to: 1)
        guard report.unreachable.isEmpty else {
            for site in report.unreachable {
                Console.err("omnisync: site \(site) unreachable")
            }
            throw .unavailable(message: nil)
        }
        guard report.differences.isEmpty else {
            throw .failed(message: "\(report.differences.count) difference(s) found")
        }
    }
}
