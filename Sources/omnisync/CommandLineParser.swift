/// Reads a command's arguments against its table of options.
///
/// Accepts `--name VALUE`, `--name=VALUE`, `-c VALUE`, `-cVALUE`, flags, and `--` to end the
/// options. Anything unknown, repeated or missing its value is a usage error.
enum CommandLineParser {
    static func parse(
        _ arguments: ArraySlice<String>, options: [OptionSpec], maxPositionals: Int, command: String
    ) throws(CommandFailure) -> ParsedArguments {
        var parsed = ParsedArguments()
        let optionEnd = arguments.firstIndex(of: "--") ?? arguments.endIndex
        // Help wins over every other mistake on the line.
        if arguments[..<optionEnd].contains(where: { $0 == "--help" || $0 == "-h" }) {
            parsed.helpRequested = true
            return parsed
        }
        func usage(_ message: String) -> CommandFailure {
            .usage(message: message, command: command)
        }

        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                parsed.positionals += arguments[index...]
                break
            }
            let spec: OptionSpec
            var inlineValue: String?
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = body.prefix { $0 != "=" }
                if name.endIndex < body.endIndex {
                    inlineValue = String(body[body.index(after: name.endIndex)...])
                }
                guard let found = options.first(where: { $0.long == name }) else {
                    throw usage("unknown option '--\(name)'")
                }
                spec = found
            } else if argument.hasPrefix("-") && argument.count > 1 {
                let letter = argument.dropFirst().first
                guard let found = options.first(where: { $0.short != nil && $0.short == letter }) else {
                    throw usage("unknown option '-\(letter.map(String.init) ?? "")'")
                }
                spec = found
                let rest = argument.dropFirst(2)
                if !rest.isEmpty { inlineValue = String(rest) }
            } else {
                parsed.positionals.append(argument)
                continue
            }

            let display = "--" + spec.long
            guard !parsed.flags.contains(spec.long), parsed.values[spec.long] == nil else {
                throw usage("option \(display) given more than once")
            }
            guard let valueName = spec.valueName else {
                guard inlineValue == nil else { throw usage("option \(display) takes no value") }
                parsed.flags.insert(spec.long)
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else if index < arguments.endIndex {
                value = arguments[index]
                index += 1
            } else {
                throw usage("option \(display) needs a value (\(valueName))")
            }
            guard !value.isEmpty else { throw usage("option \(display) needs a value (\(valueName))") }
            parsed.values[spec.long] = value
        }

        if parsed.positionals.count > maxPositionals {
            throw usage("unexpected argument '\(parsed.positionals[maxPositionals])'")
        }
        return parsed
    }
}
