import DaemonKit
import SyncEngine

/// `omnisync conflicts resolve ID`: marks one conflict resolved.
struct ConflictsResolveCommand: Subcommand {
    static let name = "conflicts resolve"
    static let summary = "mark a conflict resolved"
    static let discussion = [
        "Marks the conflict ID (as listed by 'omnisync conflicts') resolved at every site",
        "that holds it. Resolving records that a person has dealt with it; it does not",
        "change stock, carts or orders.",
    ]
    static let positionals = ["ID"]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "the conflict is marked resolved",
        .failure: "no conflict has this ID",
        .usage: "bad usage, or the ID is missing",
        .unavailable: "no site holding conflicts could be reached",
        .config: "configuration error",
    ]
    static let example = "omnisync conflicts resolve 42 -c /etc/omnisync/omnisync.conf"

    let shared: SharedOptions
    let id: String

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        guard let id = arguments.positionals.first, !id.isEmpty else {
            throw .usage(message: "missing conflict ID", command: Self.name)
        }
        self.id = id
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        switch await ConflictLog(configuration: configuration).resolve(id: id) {
        case .resolved(let sites):
            Console.out("conflict \(id) resolved at \(sites.joined(separator: ", "))")
        case .notFound:
            throw .failed(message: "no conflict with ID '\(id)'")
        case .unreachable(let message):
            throw .unavailable(message: message)
        }
    }
}
