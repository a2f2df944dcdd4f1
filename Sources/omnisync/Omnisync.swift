#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DaemonKit
import SyncEngine

/// The `omnisync` executable: picks the command, parses and validates its arguments, runs it,
/// and turns the outcome into the exit status.
@main
struct Omnisync {
    static let version = SyncDaemon.version

    /// In the order `--help` lists them.
    static let commands: [any Subcommand.Type] = [
        MigrateCommand.self,
        RunCommand.self,
        ReloadCommand.self,
        StatusCommand.self,
        VerifyCommand.self,
        CheckCommand.self,
        ExplainCommand.self,
        ConflictsCommand.self,
        ConflictsResolveCommand.self,
        QuarantineCommand.self,
        QuarantineActionCommand<QuarantineRetry>.self,
        QuarantineActionCommand<QuarantineDiscard>.self,
    ]

    static func main() async {
        // A SIGABRT (systemd's watchdog) must end the process even when the runtime's crash
        // handler cannot start its backtracer, as under the unit's MemoryDenyWriteExecute=yes.
        FatalSignals.restoreDefaultActions()
        let code = await run(Array(CommandLine.arguments.dropFirst()))
        exit(code.rawValue)
    }

    static func run(_ arguments: [String]) async -> ExitCode {
        do {
            try await dispatch(arguments)
            return .ok
        } catch {
            if let message = error.message {
                Console.err("omnisync: " + message)
            }
            if let hint = error.hint {
                Console.err(hint)
            }
            return error.exitCode
        }
    }

    private static func dispatch(_ arguments: [String]) async throws(CommandFailure) {
        guard let first = arguments.first else {
            throw .usage(message: "missing command", command: nil)
        }
        switch first {
        case "--help", "-h":
            Console.write(HelpText.overview(commands: commands), to: 1)
            return
        case "--version":
            Console.out("omnisync \(version)")
            return
        default:
            break
        }
        if first.hasPrefix("-") {
            throw .usage(message: "unknown option '\(first)'", command: nil)
        }
        guard let (command, rest) = lookUp(arguments) else {
            throw .usage(message: "unknown command '\(first)'", command: nil)
        }
        let parsed = try CommandLineParser.parse(
            rest, options: command.allOptions, maxPositionals: command.maxPositionals, command: command.name)
        if parsed.helpRequested {
            Console.write(HelpText.command(command), to: 1)
            return
        }
        try await command.init(parsed).run()
    }

    /// The command whose name's words open `arguments`, the longest such (so that
    /// `conflicts resolve` wins over `conflicts`), and the arguments after its name.
    private static func lookUp(_ arguments: [String]) -> (any Subcommand.Type, ArraySlice<String>)? {
        let matches = commands.filter { command in
            let words = command.name.split(separator: " ").map(String.init)
            return arguments.starts(with: words)
        }
        guard let command = matches.max(by: { $0.name.count < $1.name.count }) else { return nil }
        return (command, arguments.dropFirst(command.name.split(separator: " ").count))
    }

    /// Output with exactly one final newline, or nothing for empty output.
    static func terminated(_ text: String) -> String {
        text.isEmpty || text.hasSuffix("\n") ? text : text + "\n"
    }
}
