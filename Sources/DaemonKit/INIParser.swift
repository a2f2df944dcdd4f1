/// Parses INI text: `key = value` lines under `[section]` or `[section argument]` headers.
///
/// `#` and `;` start a comment at the start of a line, or after whitespace that follows a value
/// (`batch_size = 500   # small batches`); elsewhere they are part of the value, so a URI such
/// as `postgresql://h/db?x=1#y` survives. Values are taken literally, trimmed. A key may appear
/// once per section. Sections may repeat; what that means is the caller's decision.
public enum INIParser {
    public static func parse(_ text: String, file: String) throws(INIError) -> INIDocument {
        var document = INIDocument(file: file, sections: [])
        // "\r\n" is one Character in Swift, so it must be named as a separator of its own.
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") {
            lines[0] = first.dropFirst()
        }
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            var line = trimmed(rawLine)
            if line.hasSuffix("\r") { line = trimmed(line.dropLast()) }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }

            if line.hasPrefix("[") {
                document.sections.append(try header(line, file: file, line: number))
                continue
            }

            guard let equals = firstEqualsOutsideQuotes(line) ?? line.firstIndex(of: "=") else {
                throw INIError(file: file, line: number, message: "expected 'key = value' or a [section] header")
            }
            let key = String(trimmed(line[..<equals]))
            let value = String(trimmed(stripComment(line[line.index(after: equals)...])))
            guard !key.isEmpty else {
                throw INIError(file: file, line: number, message: "missing key name before '='")
            }
            guard isValidKey(key) else {
                throw INIError(
                    file: file, line: number, key: key,
                    message: "invalid key name (use letters, digits, '_', '-', '.', and \"…\" around a part that needs others)")
            }
            guard let sectionIndex = document.sections.indices.last else {
                throw INIError(
                    file: file, line: number, key: key,
                    message: "entry outside any section; put a [section] header above it")
            }
            let section = document.sections[sectionIndex]
            if let first = section.entries.first(where: { $0.key == key }) {
                throw INIError(
                    file: file, line: number, key: key,
                    message: "set twice in \(section.header) (first on line \(first.line))")
            }
            document.sections[sectionIndex].entries.append(INIDocument.Entry(key: key, value: value, line: number))
        }
        return document
    }

    private static func header(_ line: Substring, file: String, line number: Int) throws(INIError)
        -> INIDocument.Section
    {
        guard let close = line.firstIndex(of: "]") else {
            throw INIError(file: file, line: number, message: "section header is missing its closing ']'")
        }
        let rest = trimmed(line[line.index(after: close)...])
        guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else {
            throw INIError(file: file, line: number, message: "unexpected text after section header")
        }
        let inside = trimmed(line[line.index(after: line.startIndex)..<close])
        guard !inside.isEmpty else {
            throw INIError(file: file, line: number, message: "empty section header '[]'")
        }
        let name = inside.prefix { $0 != " " && $0 != "\t" }
        let argument = trimmed(inside[name.endIndex...])
        guard name.unicodeScalars.allSatisfy(isNameCharacter) else {
            throw INIError(file: file, line: number, message: "invalid section name '\(name)'")
        }
        return INIDocument.Section(
            name: String(name), argument: argument.isEmpty ? nil : String(argument), line: number)
    }

    /// Cuts a trailing comment: `#` or `;` preceded by whitespace.
    private static func stripComment(_ value: Substring) -> Substring {
        var previous: Character = " "
        for index in value.indices {
            let character = value[index]
            if (character == "#" || character == ";") && (previous == " " || previous == "\t") {
                return value[..<index]
            }
            previous = character
        }
        return value
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isBlank($0) }),
            let end = text.lastIndex(where: { !isBlank($0) })
        else { return text[text.endIndex...] }
        return text[start...end]
    }

    /// The `=` that ends the key: one inside a double-quoted part of the key does not.
    private static func firstEqualsOutsideQuotes(_ line: Substring) -> Substring.Index? {
        var quoted = false
        for index in line.indices {
            switch line[index] {
            case "\"": quoted.toggle()
            case "=" where !quoted: return index
            default: break
            }
        }
        return nil
    }

    /// Letters, digits, `_`, `-` and `.`, with double-quoted parts holding anything else (a
    /// column name that PostgreSQL needs quoted: `column."lastSoldAt" = greatest`); quotes balanced.
    private static func isValidKey(_ key: String) -> Bool {
        var quoted = false
        for scalar in key.unicodeScalars {
            if scalar == "\"" {
                quoted.toggle()
            } else if !quoted, !isNameCharacter(scalar) {
                return false
            } else if scalar == "\0" {
                return false
            }
        }
        return !quoted
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".": true
        default: false
        }
    }
}
