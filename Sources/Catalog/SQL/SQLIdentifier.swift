/// A PostgreSQL identifier (a schema, table or column name) exactly as the database stores it.
///
/// It is the only way the catalog lets a name into SQL text: ``quoted`` always double-quotes it,
/// so camelCase, reserved words, spaces and quotes inside a name are safe. Names compare by their
/// UTF-8 bytes (PostgreSQL's `C` collation), so anything sorted by them is the same at every site.
public struct SQLIdentifier: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// PostgreSQL's NAMEDATALEN − 1: longer names would be truncated by the server.
    public static let maxBytes = 63

    /// The name as stored in `pg_catalog` (already case-folded if it was written plain).
    public let name: String

    /// A name taken as it is (no folding): 1–63 bytes of UTF-8, no NUL.
    public init(exactly name: String) throws(SyntaxError) {
        try Self.checkStored(name)
        self.name = name
    }

    /// For names written in this module's source, which the tests check.
    init(unchecked name: String) {
        self.name = name
    }

    /// Reads an identifier as written in SQL or in the configuration: a plain identifier is
    /// folded to lower case as PostgreSQL does (ASCII letters only, as the server does in UTF-8
    /// databases); a double-quoted one is kept exactly, `""` standing for one `"`.
    /// Surrounding spaces are ignored; anything else around the identifier is an error.
    public static func parse(_ text: String) throws(SyntaxError) -> SQLIdentifier {
        var scanner = IdentifierScanner(text)
        scanner.skipSpaces()
        let identifier = try scanner.identifier()
        scanner.skipSpaces()
        guard scanner.atEnd else {
            throw SyntaxError("unexpected text after the name \(identifier) in '\(text)'")
        }
        return identifier
    }

    /// Reads a comma-separated list of identifiers (`item_id, "StoreId"`); a comma inside quotes
    /// belongs to the name. Refuses an empty list, an empty element and a name given twice.
    public static func parseList(_ text: String) throws(SyntaxError) -> [SQLIdentifier] {
        var scanner = IdentifierScanner(text)
        let names = try scanner.identifierList(until: nil)
        guard scanner.atEnd else { throw SyntaxError("unexpected text in the list '\(text)'") }
        return names
    }

    /// The name double-quoted for SQL, `"` doubled: the only form spliced into statements.
    public var quoted: String {
        var text = "\""
        for scalar in name.unicodeScalars {
            if scalar == "\"" { text.unicodeScalars.append(scalar) }
            text.unicodeScalars.append(scalar)
        }
        return text + "\""
    }

    /// The shortest form that ``parse(_:)`` reads back as this name: plain when it is a lower-case
    /// plain identifier, quoted otherwise. For messages and for the configuration.
    public var description: String {
        Self.isPlainForm(name) ? name : quoted
    }

    public static func < (lhs: SQLIdentifier, rhs: SQLIdentifier) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

    static func checkStored(_ name: String) throws(SyntaxError) {
        guard !name.isEmpty else { throw SyntaxError("a name cannot be empty") }
        guard !name.unicodeScalars.contains("\u{0}") else {
            throw SyntaxError("a name cannot contain a NUL character")
        }
        guard name.utf8.count <= maxBytes else {
            throw SyntaxError(
                "the name '\(name)' is \(name.utf8.count) bytes long; PostgreSQL names have at most \(maxBytes)")
        }
    }

    private static func isPlainForm(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first,
            IdentifierScanner.isPlainStart(first), !("A"..."Z").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy { IdentifierScanner.isPlainContinuation($0) && !("A"..."Z").contains($0) }
    }
}
