import SyncEngine

/// Options every command takes: which configuration file to use.
struct SharedOptions: Sendable {
    static let config = OptionSpec(
        long: "config", short: "c", valueName: "FILE",
        help: "configuration file (default: \(Configuration.defaultPath))")

    static let all = [config]

    let configPath: String

    init(_ arguments: ParsedArguments) {
        configPath = arguments.value(Self.config.long) ?? Configuration.defaultPath
    }

    /// Reads and validates the whole file; any mistake ends the command with status 78.
    func loadConfiguration() throws(CommandFailure) -> Configuration {
        do {
            return try Configuration.load(path: configPath)
        } catch {
            throw .configuration(message: error.description)
        }
    }
}
