/// A table as capture needs it: every column with its SQL type (read from the database) and its
/// rule. `CaptureDDL` turns it into the state table and the triggers; nothing else is needed.
public struct CaptureTable: Sendable, Hashable {
    /// How a non-key column is captured.
    public enum Rule: Sendable, Hashable {
        case counter
        case lww
        case greatest
        case least
        case status([String])
        case local
        /// Insert-only tables: written once with the row.
        case immutable
    }

    public struct KeyColumn: Sendable, Hashable {
        public let name: SQLIdentifier
        public let type: SQLType

        public init(_ name: SQLIdentifier, _ type: SQLType) {
            self.name = name
            self.type = type
        }
    }

    public struct Column: Sendable, Hashable {
        public let name: SQLIdentifier
        public let type: SQLType
        public let rule: Rule

        public init(_ name: SQLIdentifier, _ type: SQLType, _ rule: Rule) {
            self.name = name
            self.type = type
            self.rule = rule
        }

        /// For a counter, the units its contributions count in (see ``CounterScale``).
        public var counterScale: CounterScale { CounterScale(of: type) }
    }

    /// The number capture writes into the outbox's `table_id`.
    public let id: TableID
    public let name: QualifiedName
    public let key: [KeyColumn]
    /// Every non-key column, in the table's column order.
    public let columns: [Column]
    public let rows: TableSpec.Rows

    public init(id: TableID, name: QualifiedName, key: [KeyColumn], columns: [Column], rows: TableSpec.Rows) {
        self.id = id
        self.name = name
        self.key = key
        self.columns = columns
        self.rows = rows
    }

    /// The columns whose state is replicated (all but `local`), with their index in `columns`.
    public var replicated: [(index: Int, column: Column)] {
        columns.enumerated().filter { $0.element.rule != .local }.map { ($0.offset, $0.element) }
    }

    public var deletesAddWins: Bool { rows == .mutable(delete: .addWins) }
}

extension SQLType {
    /// Types whose values `greatest` / `least` compare as numbers; every other type compares by the
    /// bytes of its normalized text form (see `CaptureDDL`).
    public var comparesAsNumber: Bool {
        ["smallint", "integer", "bigint", "numeric", "real", "double precision"].contains(baseName)
    }

    /// The name without a type modifier: `numeric` for `numeric(12,2)`.
    public var baseName: String {
        name.split(separator: "(", maxSplits: 1).first.map { String($0).trimmingCharacters(in: " ") } ?? name
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}
