import DaemonKit
import SyncEngine

/// `omnisync run`: the sync daemon, in the foreground.
struct RunCommand: Subcommand {
    static let name = "run"
    static let summary = "run the sync daemon in the foreground, logging to stderr"
    static let discussion = [
        "Runs the sync daemon in the foreground and logs to stderr (journald under systemd).",
        "The whole configuration is checked before any site is contacted. Sites that are",
        "unreachable at start or later are retried until they return.",
        "SIGTERM or SIGINT finishes the current batch and exits 0; SIGHUP reloads the",
        "configuration file.",
    ]
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "stopped by SIGTERM or SIGINT",
        .usage: "bad usage",
        .config: "configuration error",
    ]
    static let example = "omnisync run -c /etc/omnisync/omnisync.conf"

    let shared: SharedOptions

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        let handler = StderrLogHandler(
            minimumLevel: configuration.daemon.logLevel, format: configuration.daemon.logFormat)
        let logger = Logger(handler: handler)
        let daemon = SyncDaemon(configuration: configuration, logger: logger, logHandler: handler)
        // Both outcomes exit 0: after a second stop signal, returning ends the process without
        // waiting for the batches under way (safe: every apply is idempotent).
        _ = await daemon.run()
    }
}
