/// A schema-qualified table name, `schema.name`: the identity of a table in every site.
public struct QualifiedName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let schema: SQLIdentifier
    public let name: SQLIdentifier

    public init(schema: SQLIdentifier, name: SQLIdentifier) {
        self.schema = schema
        self.name = name
    }

    /// Reads `schema.name` as written in a `[table …]` header or a route, each part plain (folded)
    /// or double-quoted (exact): `pos.inventory`, `pos."StockItem"`, `"Shop"."Orders"`.
    /// The schema is required: a search_path differs between sites and roles.
    public static func parse(_ text: String) throws(SyntaxError) -> QualifiedName {
        var scanner = IdentifierScanner(text)
        scanner.skipSpaces()
        let name = try scanner.qualifiedName()
        scanner.skipSpaces()
        guard scanner.atEnd else { throw SyntaxError("unexpected text after the table name \(name) in '\(text)'") }
        return name
    }

    /// `"schema"."name"`, for SQL.
    public var sql: String { schema.quoted + "." + name.quoted }

    /// `schema.name` in the shortest form that ``parse(_:)`` reads back.
    public var description: String { schema.description + "." + name.description }

    /// Schema first, then name, by UTF-8 bytes.
    public static func < (lhs: QualifiedName, rhs: QualifiedName) -> Bool {
        lhs.schema != rhs.schema ? lhs.schema < rhs.schema : lhs.name < rhs.name
    }
}
