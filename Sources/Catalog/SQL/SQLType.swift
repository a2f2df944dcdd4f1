/// A column's PostgreSQL type, named as `format_type()` prints it (`bigint`, `integer`,
/// `timestamp with time zone`), so that a later check can compare it with the database's.
///
/// Key types matter: a key travels as text and is cast back with this type.
public struct SQLType: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    public static let text = SQLType("text")
    public static let bigint = SQLType("bigint")
    public static let integer = SQLType("integer")
    public static let timestamptz = SQLType("timestamp with time zone")

    public var description: String { name }
}
