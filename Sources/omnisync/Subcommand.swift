import DaemonKit

/// One `omnisync` command: its documentation and option table (read by the parser and the help
/// text alike), validation of its arguments, and its work.
protocol Subcommand: Sendable {
    /// As typed after `omnisync`: `migrate`, `conflicts resolve`.
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// Paragraph lines explaining what the command does.
    static var discussion: [String] { get }
    /// Options besides the shared ones and `--help`.
    static var options: [OptionSpec] { get }
    /// Positional arguments as shown in the usage line: `ID`.
    static var positionals: [String] { get }
    /// How many positional arguments the parser accepts (default: as many as `positionals` shows).
    static var maxPositionals: Int { get }
    static var exitCodes: KeyValuePairs<ExitCode, String> { get }
    static var example: String { get }

    /// Validates the arguments; a mistake is a usage error.
    init(_ arguments: ParsedArguments) throws(CommandFailure)

    func run() async throws(CommandFailure)
}

extension Subcommand {
    static var options: [OptionSpec] { [] }
    static var positionals: [String] { [] }
    static var maxPositionals: Int { positionals.count }

    /// Every option the parser accepts, in help order.
    static var allOptions: [OptionSpec] { SharedOptions.all + options + [.help] }

    static var usage: String {
        (["omnisync", name] + allOptions.filter { $0.long != OptionSpec.help.long }.map(\.usage) + positionals)
            .joined(separator: " ")
    }
}
