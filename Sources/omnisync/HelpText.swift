import DaemonKit
import SyncEngine

/// The `--help` texts, built from the commands' own tables so that what is documented is
/// what is parsed.
enum HelpText {
    static func overview(commands: [any Subcommand.Type]) -> String {
        var lines = [
            "omnisync \(Omnisync.version): keeps the PostgreSQL databases of stores and the web shop in sync.",
            "",
            "Usage: omnisync COMMAND [OPTIONS]",
            "",
            "Commands:",
        ]
        let width = (commands.map { $0.name.count }.max() ?? 0) + 3
        for command in commands {
            lines.append("  " + padded(command.name, to: width) + command.summary)
        }
        lines += [
            "",
            "Options:",
            "  " + padded(OptionSpec.help.signature, to: width) + "show this help; 'omnisync COMMAND --help' explains one command",
            "  " + padded("    --version", to: width) + "print the version",
            "",
            "Every command reads \(Configuration.defaultPath) unless -c FILE names another.",
            "",
            "Exit codes:",
        ]
        lines += exitCodeLines([
            .ok: "success",
            .failure: "verify found differences, or a runtime failure",
            .usage: "bad usage",
            .unavailable: "a site could not be reached",
            .config: "configuration error",
        ])
        lines += [
            "",
            "Example:",
            "  omnisync migrate -c /etc/omnisync/omnisync.conf",
            "  omnisync run -c /etc/omnisync/omnisync.conf",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    static func command(_ command: any Subcommand.Type) -> String {
        var lines = ["Usage: \(command.usage)", ""]
        lines += command.discussion
        lines += ["", "Options:"]
        let width = (command.allOptions.map { $0.signature.count }.max() ?? 0) + 3
        for option in command.allOptions {
            lines.append("  " + padded(option.signature, to: width) + option.help)
        }
        lines += ["", "Exit codes:"]
        lines += exitCodeLines(command.exitCodes)
        lines += ["", "Example:", "  " + command.example]
        return lines.joined(separator: "\n") + "\n"
    }

    private static func exitCodeLines(_ codes: KeyValuePairs<ExitCode, String>) -> [String] {
        codes.map { "  " + padded(String($0.key.rawValue), to: 4) + $0.value }
    }

    private static func padded(_ text: String, to width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
