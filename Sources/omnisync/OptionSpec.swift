/// One command-line option as declared by a command: parsed and documented from the same row.
struct OptionSpec: Sendable {
    /// Without the leading `--`: `config`.
    let long: String
    /// `c` for `-c`.
    let short: Character?
    /// `FILE` for an option that takes a value; `nil` for a flag.
    let valueName: String?
    let help: String

    init(long: String, short: Character? = nil, valueName: String? = nil, help: String) {
        self.long = long
        self.short = short
        self.valueName = valueName
        self.help = help
    }

    /// The left column of the help text: `-c, --config FILE`.
    var signature: String {
        let names = (short.map { "-\($0), " } ?? "    ") + "--" + long
        return valueName.map { names + " " + $0 } ?? names
    }

    /// How the option is written in a usage line: `[-c FILE]`, `[--json]`.
    var usage: String {
        let name = short.map { "-\($0)" } ?? "--" + long
        return "[" + (valueName.map { name + " " + $0 } ?? name) + "]"
    }

    static let help = OptionSpec(long: "help", short: "h", help: "show this help")
}
