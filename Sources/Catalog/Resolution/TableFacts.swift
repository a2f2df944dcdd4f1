/// What a site's database says about one table, read from `pg_catalog`, as plain values: the
/// input of `TableResolver` (and so of `omnisync check`), kept free of I/O so that every problem
/// it can find is unit-tested.
public struct TableFacts: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public let name: String
        /// `format_type` of the column: `bigint`, `numeric(12,2)`, `timestamp with time zone`.
        public let type: String
        public let notNull: Bool
        public let hasDefault: Bool
        /// An identity column, or a default that takes the next value of a sequence (`serial`).
        public let isSequence: Bool
        /// A generated column: computed by each site, never written.
        public let isGenerated: Bool

        public init(name: String, type: String, notNull: Bool = false, hasDefault: Bool = false, isSequence: Bool = false,
                    isGenerated: Bool = false) {
            self.name = name
            self.type = type
            self.notNull = notNull
            self.hasDefault = hasDefault
            self.isSequence = isSequence
            self.isGenerated = isGenerated
        }
    }

    public struct Index: Sendable, Hashable {
        public let name: String
        /// Key columns in order; an expression index has none it can be matched on.
        public let columns: [String]
        public let isPrimary: Bool
        public let isUnique: Bool
        /// A partial (`WHERE`) or expression index cannot make a key unique.
        public let isPartialOrExpression: Bool

        public init(name: String, columns: [String], isPrimary: Bool = false, isUnique: Bool = false,
                    isPartialOrExpression: Bool = false) {
            self.name = name
            self.columns = columns
            self.isPrimary = isPrimary
            self.isUnique = isUnique
            self.isPartialOrExpression = isPartialOrExpression
        }
    }

    public struct ForeignKey: Sendable, Hashable {
        public let name: String
        public let columns: [String]
        /// The referenced table, as PostgreSQL prints it.
        public let references: String
        public let isDeferrable: Bool

        public init(name: String, columns: [String], references: String, isDeferrable: Bool = false) {
            self.name = name
            self.columns = columns
            self.references = references
            self.isDeferrable = isDeferrable
        }
    }

    /// In the table's column order, dropped columns left out.
    public let columns: [Column]
    public let indexes: [Index]
    public let foreignKeys: [ForeignKey]

    public init(columns: [Column], indexes: [Index] = [], foreignKeys: [ForeignKey] = []) {
        self.columns = columns
        self.indexes = indexes
        self.foreignKeys = foreignKeys
    }

    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }

    public var primaryKey: [String]? { indexes.first { $0.isPrimary }?.columns }
}

/// One thing wrong with a declared table at a site, with the fix, as `omnisync check` prints it.
/// A fatal problem makes `migrate` refuse (exit 78) before it changes anything.
public struct CheckProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case fatal, warning
    }

    public let severity: Severity
    public let table: QualifiedName
    public let column: String?
    public let message: String
    public let fix: String

    public init(_ severity: Severity, table: QualifiedName, column: String? = nil, message: String, fix: String) {
        self.severity = severity
        self.table = table
        self.column = column
        self.message = message
        self.fix = fix
    }

    public var description: String {
        let place = column.map { "\(table) column \($0)" } ?? "\(table)"
        return "\(severity): \(place): \(message); fix: \(fix)"
    }
}
