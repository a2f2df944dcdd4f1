/// The text a site stores for each declared table it captures (`omnisync.declared_table`), so
/// that every daemon session works with what `migrate` installed there — the columns and types
/// read from the database at that time — and not with what the application has changed since.
///
/// One line per fact, each a word followed by quoted parts: identifiers in `"…"` and every other
/// value in `'…'`, as SQL writes them, so any name and any type survive. Equal tables give equal
/// text, byte for byte: comparing texts is how `migrate` and the daemon see a change.
///
/// ```
/// capture 1
/// table 1073742345 "pos" "inventory"
/// rows mutable add_wins
/// key "item_id" 'integer'
/// column "qty" 'integer' counter
/// column "state" 'text' status 'placed' 'ready'
/// ```
extension CaptureTable {
    /// The version of this text; a reader refuses any other.
    public static let descriptionFormat = 1

    public var descriptionText: String {
        var lines = ["capture \(Self.descriptionFormat)", "table \(id.rawValue) \(name.schema.quoted) \(name.name.quoted)"]
        switch rows {
        case .insertOnly: lines.append("rows insert_only")
        case .mutable(let delete): lines.append("rows mutable \(delete.rawValue)")
        }
        for column in key {
            lines.append("key \(column.name.quoted) \(Self.literal(column.type.name))")
        }
        for column in columns {
            var line = "column \(column.name.quoted) \(Self.literal(column.type.name)) "
            switch column.rule {
            case .counter: line += "counter"
            case .lww: line += "lww"
            case .greatest: line += "greatest"
            case .least: line += "least"
            case .local: line += "local"
            case .immutable: line += "immutable"
            case .status(let order): line += "status " + order.map(Self.literal).joined(separator: " ")
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads ``descriptionText`` back; the error says which line is wrong.
    public init(descriptionText text: String) throws(SyntaxError) {
        var id: TableID?
        var name: QualifiedName?
        var rows: TableSpec.Rows?
        var key: [KeyColumn] = []
        var columns: [Column] = []
        var sawFormat = false
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            func failure(_ message: String) -> SyntaxError {
                SyntaxError("line \(number + 1) of a table description: \(message)")
            }
            let tokens = try DescriptionToken.split(String(line))
            guard case .word(let word)? = tokens.first else { throw failure("expected a word first") }
            let rest = Array(tokens.dropFirst())
            switch (word, rest.first) {
            case ("capture", .word(let format)?):
                guard format == String(Self.descriptionFormat), number == 0 else {
                    throw failure("format \(format) is not \(Self.descriptionFormat); upgrade omnisync")
                }
                sawFormat = true
            case ("table", .word(let idText)?):
                guard let raw = Int32(idText), rest.count == 3, case .identifier(let schema) = rest[1],
                    case .identifier(let table) = rest[2]
                else { throw failure("expected: table ID \"schema\" \"name\"") }
                id = TableID(raw)
                name = QualifiedName(schema: try SQLIdentifier(exactly: schema), name: try SQLIdentifier(exactly: table))
            case ("rows", .word(let kind)?):
                switch (kind, rest.count > 1 ? rest[1] : nil) {
                case ("insert_only", nil): rows = .insertOnly
                case ("mutable", .word(let delete)?):
                    guard let policy = TableSpec.DeletePolicy(rawValue: delete) else { throw failure("unknown delete '\(delete)'") }
                    rows = .mutable(delete: policy)
                default: throw failure("expected: rows insert_only, or rows mutable DELETE")
                }
            case ("key", .identifier(let column)?):
                guard rest.count == 2, case .literal(let type) = rest[1] else { throw failure("expected: key \"name\" 'type'") }
                key.append(KeyColumn(try SQLIdentifier(exactly: column), SQLType(type)))
            case ("column", .identifier(let column)?):
                guard rest.count >= 3, case .literal(let type) = rest[1], case .word(let ruleName) = rest[2] else {
                    throw failure("expected: column \"name\" 'type' RULE")
                }
                let arguments = rest.dropFirst(3)
                let rule: Rule
                switch ruleName {
                case "counter": rule = .counter
                case "lww": rule = .lww
                case "greatest": rule = .greatest
                case "least": rule = .least
                case "local": rule = .local
                case "immutable": rule = .immutable
                case "status":
                    var order: [String] = []
                    for argument in arguments {
                        guard case .literal(let value) = argument else { throw failure("status values are quoted") }
                        order.append(value)
                    }
                    rule = .status(order)
                default: throw failure("unknown rule '\(ruleName)'")
                }
                if ruleName != "status", !arguments.isEmpty { throw failure("unexpected text after the rule") }
                columns.append(Column(try SQLIdentifier(exactly: column), SQLType(type), rule))
            default:
                throw failure("unexpected '\(line)'")
            }
        }
        guard sawFormat, let id, let name, let rows, !key.isEmpty else {
            throw SyntaxError("a table description needs its capture format, table, rows and key lines")
        }
        self.init(id: id, name: name, key: key, columns: columns, rows: rows)
    }

    static func literal(_ text: String) -> String {
        var quoted = "'"
        for character in text {
            if character == "'" { quoted.append("'") }
            quoted.append(character)
        }
        return quoted + "'"
    }
}

/// A part of a description line: a bare word, a `"quoted identifier"` or a `'literal'`, each
/// quote doubled inside.
enum DescriptionToken: Equatable {
    case word(String)
    case identifier(String)
    case literal(String)

    static func split(_ line: String) throws(SyntaxError) -> [DescriptionToken] {
        var tokens: [DescriptionToken] = []
        var characters = Array(line)[...]
        while let first = characters.first {
            if first == " " {
                characters = characters.dropFirst()
                continue
            }
            if first == "\"" || first == "'" {
                var text = ""
                var index = characters.index(after: characters.startIndex)
                var closed = false
                while index < characters.endIndex {
                    let character = characters[index]
                    index = characters.index(after: index)
                    if character == first {
                        if index < characters.endIndex, characters[index] == first {
                            text.append(first)
                            index = characters.index(after: index)
                            continue
                        }
                        closed = true
                        break
                    }
                    text.append(character)
                }
                guard closed else { throw SyntaxError("unterminated \(first) in '\(line)'") }
                tokens.append(first == "\"" ? .identifier(text) : .literal(text))
                characters = characters[index...]
            } else {
                let end = characters.firstIndex(of: " ") ?? characters.endIndex
                tokens.append(.word(String(characters[..<end])))
                characters = characters[end...]
            }
        }
        return tokens
    }
}
