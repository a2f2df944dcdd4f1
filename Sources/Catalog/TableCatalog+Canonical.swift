extension TableCatalog {
    /// The version of ``canonicalText``'s format, its first line: a new format is a new hash.
    public static let canonicalFormat = "omnisync-catalog 1"

    /// Everything that decides how rows replicate, one item per line, in a fixed order: tables by
    /// name, declared columns by name (built-in ones in table order), checks by kind. Names are
    /// quoted and texts escaped, so two different catalogs never print the same text. Where a
    /// declaration was written (its line) is not part of it.
    public var canonicalText: String {
        var lines = [Self.canonicalFormat]
        for table in tables {
            lines.append("table \(table.name.sql) id \(table.id)\(table.isBuiltIn ? " built-in" : "")")
            if let key = table.key {
                lines.append("  key " + key.map { "\($0.name.quoted) \(Self.typeText($0.type))" }.joined(separator: ", "))
            } else {
                lines.append("  key primary")
            }
            switch table.rows {
            case .insertOnly: lines.append("  rows insert_only")
            case .mutable(let delete): lines.append("  rows mutable delete \(delete.rawValue)")
            }
            for column in table.columns {
                let rule = column.rule.map(Self.ruleText) ?? (table.rows == .insertOnly ? "immutable" : "default")
                lines.append("  column \(column.name.quoted) \(Self.typeText(column.type)) \(rule)")
            }
            for check in table.checks {
                lines.append("  check \(check.kind) \(Self.literal(check.expression))")
            }
            if let count = table.countFunction {
                lines.append("  count \(count.function.sql) \(count.column.quoted)")
            }
            lines.append("  route \(Self.routeText(table.route))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// SHA-256 of ``canonicalText`` in hex: what a site records and a daemon session compares.
    public var hash: String {
        SHA256.hex(Array(canonicalText.utf8))
    }

    private static func typeText(_ type: SQLType?) -> String {
        type.map { literal($0.name) } ?? "?"
    }

    private static func ruleText(_ rule: ColumnRuleSpec) -> String {
        switch rule {
        case .status(let values): "status(" + values.map(literal).joined(separator: ",") + ")"
        default: rule.description
        }
    }

    private static func routeText(_ route: Route) -> String {
        switch route {
        case .all: "all"
        case .location(let column): "location \(column.quoted)"
        case .follow(let namespace, let column): "follow \(namespace) \(column.quoted)"
        case .with(let table, let columns): "with \(table.sql) (\(columns.map(\.quoted).joined(separator: ",")))"
        }
    }

    /// A SQL string literal: `'` doubled, and line breaks escaped so that one item stays one line.
    private static func literal(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "'": escaped += "''"
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "'" + escaped + "'"
    }
}
