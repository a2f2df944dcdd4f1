import DaemonKit

/// Every way a command can end other than success, and the one place that maps each to its
/// exit status. A `nil` message means the command already reported the details.
enum CommandFailure: Error, Equatable {
    /// Bad command line; the message is followed by a pointer to the help.
    case usage(message: String, command: String?)
    /// The configuration is wrong, or a site's database disagrees with it.
    case configuration(message: String?)
    /// A site could not be reached.
    case unavailable(message: String?)
    /// A runtime failure, or `verify` found differences.
    case failed(message: String?)

    var exitCode: ExitCode {
        switch self {
        case .usage: .usage
        case .configuration: .config
        case .unavailable: .unavailable
        case .failed: .failure
        }
    }

    /// What went wrong, for standard error; `nil` when already reported.
    var message: String? {
        switch self {
        case .usage(let message, _): message
        case .configuration(let message), .unavailable(let message), .failed(let message): message
        }
    }

    /// Where to read more, for usage errors.
    var hint: String? {
        guard case .usage(_, let command) = self else { return nil }
        return "Run '" + (command.map { "omnisync \($0) --help" } ?? "omnisync --help") + "' for usage."
    }
}
