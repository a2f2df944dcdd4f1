/// The number that stands for a table in outbox and quarantine records.
///
/// The five v1 tables keep v1's numbers (1 stock … 5 returns) so that undelivered v1 records keep
/// their meaning after an upgrade; the three tables of §7 take 6, 7 and 8. A declared table's id
/// is *derived from its name*: SHA-256 of its quoted qualified name, the first four bytes as a
/// 30-bit number, offset by 2³⁰. So every site and every daemon computes the same id with no
/// coordination, and adding, removing or reordering other declarations never changes it.
///
/// Limits: ids of declared tables need a 32-bit `table_id` (v1's outbox column was a `smallint`;
/// schema/0006 widens it, and the quarantine's, to `integer`). Renaming
/// a table gives it a new id, as it is a new table. Two names whose ids collide (about one chance in
/// 10⁵ for 150 declared tables) are refused by ``TableCatalog`` with both names, before anything is
/// written; a later step may record ids in the sites to lift that.
public struct TableID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The first id a declared table can have; built-in ids are far below it.
    public static let firstDerived: Int32 = 1 << 30

    /// The id of a declared table (never one of the built-in ids).
    public static func derived(from name: QualifiedName) -> TableID {
        let digest = SHA256.hash(Array(name.sql.utf8))
        let bits = digest[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return TableID(firstDerived | Int32(bits & 0x3FFF_FFFF))
    }

    public static func < (lhs: TableID, rhs: TableID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
