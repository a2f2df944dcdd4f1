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

    /// The value of a `--site NAME` option, checked to be a valid site name (usage error otherwise).
    static func siteName(_ arguments: ParsedArguments, _ option: OptionSpec, command: String) throws(CommandFailure) -> String? {
        let name = arguments.value(option.long)
        if let name, !ConfigurationSettings.isValidSiteName(name) {
            throw .usage(message: "'\(name)' is not a valid site name", command: command)
        }
        return name
    }

    /// A `--site NAME` must name a site of the configuration (usage error otherwise).
    static func requireSite(_ name: String?, in configuration: Configuration, command: String) throws(CommandFailure) {
        if let name, configuration.site(named: name) == nil {
            throw .usage(message: "no site '\(name)' in \(configuration.path)", command: command)
        }
    }
}
