/// What ``CommandLineParser`` found: option values by long name, flags, and the rest in order.
struct ParsedArguments: Sendable, Equatable {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []
    /// `-h` or `--help` appeared; nothing else is checked then.
    var helpRequested = false

    func value(_ long: String) -> String? {
        values[long]
    }

    func flag(_ long: String) -> Bool {
        flags.contains(long)
    }
}
