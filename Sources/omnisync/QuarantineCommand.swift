import DaemonKit
import SyncEngine

/// `omnisync quarantine`: lists rows whose changes could not be applied and are held.
struct QuarantineCommand: Subcommand {
    static let name = "quarantine"
    static let summary = "list rows held because a change could not be applied"
    static let discussion = [
        "Lists the rows whose change from a site could not be read or applied at another",
        "site (corrupt sync metadata, a value the target rejects). Later changes of such a",
        "row wait behind it; every other row keeps flowing. Fix the cause, then ship the",
        "row again with 'omnisync quarantine retry ID', or stop holding it with",
        "'omnisync quarantine discard ID'. IDs are SITE:N. With --json, one JSON object per line.",
        "Rows that only wait for an application's row lock are not listed: nothing is wrong",
        "with them, the daemon applies them once the lock is gone ('omnisync status' counts them).",
    ]
    static let json = OptionSpec(long: "json", help: "print one JSON object per line")
    static let options = [json]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "listed (possibly none)",
        .usage: "bad usage",
        .unavailable: "no site could be reached",
        .config: "configuration error",
    ]
    static let example = "omnisync quarantine -c /etc/omnisync/omnisync.conf"

    let shared: SharedOptions
    let asJSON: Bool

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        asJSON = arguments.flag(Self.json.long)
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        let listing = await QuarantineLog(configuration: configuration).list()
        Console.write(Omnisync.terminated(listing.render(json: asJSON)), to: 1)
        guard listing.anyReachable else {
            throw .unavailable(message: "no site could be reached")
        }
    }
}

/// `omnisync quarantine retry|discard ID`.
struct QuarantineActionCommand<Action: QuarantineActionKind>: Subcommand {
    static var name: String { "quarantine \(Action.word)" }
    static var summary: String { Action.summary }
    static var discussion: [String] { Action.discussion }
    static var positionals: [String] { ["ID"] }
    static var exitCodes: KeyValuePairs<ExitCode, String> {
        [
            .ok: "done",
            .failure: "no quarantined row has this ID",
            .usage: "bad usage, or the ID is missing",
            .unavailable: "the site could not be reached",
            .config: "configuration error",
        ]
    }
    static var example: String { "omnisync quarantine \(Action.word) store-042:7 -c /etc/omnisync/omnisync.conf" }

    let shared: SharedOptions
    let id: String

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        guard let id = arguments.positionals.first, !id.isEmpty else {
            throw .usage(message: "missing quarantine ID (SITE:N, or all)", command: Self.name)
        }
        self.id = id
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        switch await QuarantineLog(configuration: configuration).perform(Action.action, id: id) {
        case .done(let count):
            Console.out("\(Action.done) \(count) quarantined row\(count == 1 ? "" : "s")")
        case .notFound:
            throw .failed(message: "no quarantined row with ID '\(id)'")
        case .unreachable(let message):
            throw .unavailable(message: message)
        }
    }
}

protocol QuarantineActionKind {
    static var word: String { get }
    static var summary: String { get }
    static var discussion: [String] { get }
    static var done: String { get }
    static var action: QuarantineAction { get }
}

enum QuarantineRetry: QuarantineActionKind {
    static let word = "retry"
    static let summary = "ship a quarantined row again after fixing the cause"
    static let discussion = [
        "Marks the quarantined row ID (SITE:N as listed by 'omnisync quarantine', or 'all')",
        "for retry: the running daemon reads the row's current state from its source and",
        "applies it within seconds. If it fails again, it stays quarantined with the new reason.",
    ]
    static let done = "marked for retry:"
    static let action = QuarantineAction.retry
}

enum QuarantineDiscard: QuarantineActionKind {
    static let word = "discard"
    static let summary = "stop holding a quarantined row"
    static let discussion = [
        "Removes the quarantined row ID (SITE:N, or 'all') from the quarantine: later changes",
        "of the row flow again, and the row's next change carries its whole state.",
    ]
    static let done = "discarded"
    static let action = QuarantineAction.discard
}
