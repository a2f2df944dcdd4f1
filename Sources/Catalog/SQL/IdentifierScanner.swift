/// Reads identifiers and words from declaration text, one Unicode scalar at a time, with
/// PostgreSQL's lexical rules for identifiers (scan.l: `ident_start`, `ident_cont`, quoted names).
struct IdentifierScanner {
    private let scalars: [Unicode.Scalar]
    private(set) var index = 0

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    var atEnd: Bool { index >= scalars.count }
    var next: Unicode.Scalar? { atEnd ? nil : scalars[index] }

    /// What is left, for messages.
    var rest: String {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[index...])
        return text
    }

    mutating func skipSpaces() {
        while let scalar = next, scalar == " " || scalar == "\t" { index += 1 }
    }

    /// Consumes `scalar` (after spaces) if it comes next.
    mutating func take(_ scalar: Unicode.Scalar) -> Bool {
        skipSpaces()
        guard next == scalar else { return false }
        index += 1
        return true
    }

    /// A run of characters up to the next space, for keywords and namespaces.
    mutating func word() -> String {
        skipSpaces()
        var text = ""
        while let scalar = next, scalar != " ", scalar != "\t", scalar != "(" {
            text.unicodeScalars.append(scalar)
            index += 1
        }
        return text
    }

    /// One identifier, plain or quoted, at the current position.
    mutating func identifier() throws(SyntaxError) -> SQLIdentifier {
        skipSpaces()
        guard let first = next else { throw SyntaxError("a name is missing") }
        var name = ""
        if first == "\"" {
            index += 1
            while true {
                guard let scalar = next else {
                    throw SyntaxError("the quoted name \"\(name) has no closing '\"'")
                }
                index += 1
                if scalar == "\"" {
                    guard next == "\"" else { break }
                    index += 1
                }
                name.unicodeScalars.append(scalar)
            }
            guard !name.isEmpty else { throw SyntaxError("a quoted name cannot be empty (\"\")") }
        } else {
            guard Self.isPlainStart(first) else {
                throw SyntaxError(
                    "'\(rest)' does not start with a name (a letter or '_', or a name in double quotes)")
            }
            while let scalar = next, Self.isPlainContinuation(scalar) {
                // PostgreSQL folds only ASCII letters in multibyte encodings (downcase_identifier).
                name.unicodeScalars.append(("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32)! : scalar)
                index += 1
            }
        }
        try SQLIdentifier.checkStored(name)
        return SQLIdentifier(unchecked: name)
    }

    /// `schema.name`; the dot may not be inside quotes.
    mutating func qualifiedName() throws(SyntaxError) -> QualifiedName {
        let schema = try identifier()
        guard next == "." else {
            throw SyntaxError("write the table as SCHEMA.NAME (for example pos.inventory), not \(schema) alone")
        }
        index += 1
        let name = try identifier()
        return QualifiedName(schema: schema, name: name)
    }

    /// Identifiers separated by commas, up to `terminator` (not consumed) or the end.
    mutating func identifierList(until terminator: Unicode.Scalar?) throws(SyntaxError) -> [SQLIdentifier] {
        var names: [SQLIdentifier] = []
        while true {
            skipSpaces()
            if atEnd || next == terminator || next == "," {
                throw SyntaxError(names.isEmpty ? "the list of names is empty" : "a name is missing after a comma")
            }
            let name = try identifier()
            guard !names.contains(name) else { throw SyntaxError("\(name) is named twice") }
            names.append(name)
            skipSpaces()
            if next == "," {
                index += 1
                continue
            }
            if atEnd || next == terminator { return names }
            throw SyntaxError("expected ',' after \(name), found '\(rest)'")
        }
    }

    /// PostgreSQL's `ident_start`: an ASCII letter, `_`, or any non-ASCII character.
    static func isPlainStart(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" || scalar.value >= 0x80
    }

    /// PostgreSQL's `ident_cont`: `ident_start`, a digit or `$`.
    static func isPlainContinuation(_ scalar: Unicode.Scalar) -> Bool {
        isPlainStart(scalar) || ("0"..."9").contains(scalar) || scalar == "$"
    }
}
