/// Which sites receive a table's rows (CONTRACT §8). The catalog parses and validates routes;
/// deciding per row is SyncEngine's `Router`. The engine delivers ``all``, ``location(_:)`` and
/// ``follow(namespace:column:)`` routes so far; SyncEngine's configuration refuses ``with(table:columns:)``
/// for every command but `check`.
public enum Route: Sendable, Hashable, CustomStringConvertible {
    /// Every site (v1's behaviour, the default).
    case all
    /// Every hub, and every site whose `locations` contain the row's value of this column.
    case location(SQLIdentifier)
    /// Every hub, and every site that follows the row's value of `column` in `namespace`.
    case follow(namespace: String, column: SQLIdentifier)
    /// Wherever the row of `table` whose key equals these columns goes.
    case with(table: QualifiedName, columns: [SQLIdentifier])

    /// The forms, for messages.
    public static let forms = "all, location COLUMN, follow NAMESPACE COLUMN or with SCHEMA.TABLE (COLUMN, …)"

    /// Reads a route as the configuration writes it. Column names follow SQL's rules (plain names
    /// folded, quoted ones exact); a namespace is 1–63 of `a-z 0-9 _`.
    public static func parse(_ text: String) throws(SyntaxError) -> Route {
        var scanner = IdentifierScanner(text)
        let word = scanner.word()
        let route: Route
        switch word {
        case "all":
            route = .all
        case "location":
            guard !scanner.isAtEndAfterSpaces() else { throw SyntaxError("write 'location COLUMN'") }
            route = .location(try scanner.identifier())
        case "follow":
            let namespace = scanner.word()
            guard !namespace.isEmpty else { throw SyntaxError("write 'follow NAMESPACE COLUMN'") }
            guard isValidNamespace(namespace) else {
                throw SyntaxError("the namespace '\(namespace)' must be 1-63 characters of a-z 0-9 _")
            }
            guard !scanner.isAtEndAfterSpaces() else {
                throw SyntaxError("write 'follow \(namespace) COLUMN': the column is missing")
            }
            route = .follow(namespace: namespace, column: try scanner.identifier())
        case "with":
            guard !scanner.isAtEndAfterSpaces() else { throw SyntaxError("write 'with SCHEMA.TABLE (COLUMN, …)'") }
            let table = try scanner.qualifiedName()
            guard scanner.take("(") else {
                throw SyntaxError("write 'with \(table) (COLUMN, …)': the columns in parentheses are missing")
            }
            let columns = try scanner.identifierList(until: ")")
            guard scanner.take(")") else { throw SyntaxError("the column list of 'with \(table)' has no ')'") }
            route = .with(table: table, columns: columns)
        case "":
            throw SyntaxError("the route is empty; use \(forms)")
        default:
            throw SyntaxError("unknown route '\(word)'; use \(forms)")
        }
        guard scanner.isAtEndAfterSpaces() else {
            throw SyntaxError("unexpected text '\(scanner.rest)' after the route \(route)")
        }
        return route
    }

    /// The columns of the row that decide where it goes; none for ``all``.
    public var columns: [SQLIdentifier] {
        switch self {
        case .all: []
        case .location(let column), .follow(_, let column): [column]
        case .with(_, let columns): columns
        }
    }

    /// The route as the configuration writes it.
    public var description: String {
        switch self {
        case .all: "all"
        case .location(let column): "location \(column)"
        case .follow(let namespace, let column): "follow \(namespace) \(column)"
        case .with(let table, let columns): "with \(table) (\(columns.map(\.description).joined(separator: ", ")))"
        }
    }

    /// 1–63 characters of `a-z 0-9 _`: the alphabet of follow namespaces and check kinds.
    static func isValidNamespace(_ text: String) -> Bool {
        (1...63).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}

extension IdentifierScanner {
    fileprivate mutating func isAtEndAfterSpaces() -> Bool {
        skipSpaces()
        return atEnd
    }
}
