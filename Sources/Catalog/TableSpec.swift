/// The one description of a replicated table: what identifies a row, how each column merges,
/// which checks run after a merge, and where rows go. Built by ``TableDeclaration`` from a
/// `[table]` section or by ``BuiltInTables``, and validated there (CONTRACT §6.2).
///
/// Columns of a declared table that the declaration does not name, and every type of a declared
/// table, are only known from the database: `TableResolver` resolves them against its facts.
public struct TableSpec: Sendable, Equatable {
    /// Whether rows change after their insert.
    public enum Rows: Sendable, Hashable {
        /// Insert, update and delete; `delete` says what a `DELETE` does.
        case mutable(delete: DeletePolicy)
        /// Grow-only: an `UPDATE` or `DELETE` is refused in the application's statement.
        case insertOnly
    }

    /// What a `DELETE` of a mutable row does.
    public enum DeletePolicy: String, Sendable, Hashable, CaseIterable {
        /// Removes the row as of what its site had seen; a concurrent write elsewhere keeps it.
        case addWins = "add_wins"
        /// Refused with an error in the application's statement.
        case refuse
    }

    /// One column of the row's key; `type` is nil until read from the database.
    public struct KeyColumn: Sendable, Hashable {
        public let name: SQLIdentifier
        public let type: SQLType?

        public init(_ name: SQLIdentifier, _ type: SQLType? = nil) {
            self.name = name
            self.type = type
        }
    }

    /// A non-key column the spec knows of; `rule` is nil when none is declared (see ``merge(of:)``).
    public struct Column: Sendable, Hashable {
        public let name: SQLIdentifier
        public let type: SQLType?
        public let rule: ColumnRuleSpec?

        public init(_ name: SQLIdentifier, _ type: SQLType? = nil, rule: ColumnRuleSpec?) {
            self.name = name
            self.type = type
            self.rule = rule
        }
    }

    /// After a row is merged at a site, `expression` false records a conflict of kind `kind`.
    /// The expression is kept verbatim; the database validates it against the table later.
    public struct Check: Sendable, Hashable {
        public let kind: String
        public let expression: String

        public init(kind: String, expression: String) {
            self.kind = kind
            self.expression = expression
        }
    }

    /// v1's `retail.record_count(sku, location, counted)`, kept for applications: which counter
    /// it resets. Every counter can also be reset with `omnisync.record_count`.
    public struct CountFunction: Sendable, Hashable {
        public let function: QualifiedName
        public let column: SQLIdentifier
    }

    /// How one column merges, as this spec decides it.
    public enum ColumnMerge: Sendable, Hashable {
        /// Part of the row's identity; never changes.
        case key
        /// The rule the declaration gives it.
        case declared(ColumnRuleSpec)
        /// Not declared in a mutable table: last writer wins.
        case defaultLWW
        /// Not declared in an insert-only table: written once, `duplicate_key` on disagreement.
        case immutable
    }

    /// Where something was declared, for the errors the catalog finds later.
    struct Source: Sendable, Hashable {
        let key: String
        let line: Int
    }

    public let id: TableID
    public let name: QualifiedName
    /// The key columns in key order; nil: the table's primary key, resolved from the database.
    public let key: [KeyColumn]?
    public let rows: Rows
    /// Built-in tables: every column in table order. Declared tables: the declared ones, by name.
    public let columns: [Column]
    /// Sorted by kind.
    public let checks: [Check]
    public let route: Route
    public let countFunction: CountFunction?
    public let isBuiltIn: Bool
    /// The header line of the declaring section (nil for a built-in table).
    public let line: Int?
    let sources: [String: Source]

    init(
        id: TableID, name: QualifiedName, key: [KeyColumn]?, rows: Rows, columns: [Column], checks: [Check],
        route: Route, countFunction: CountFunction? = nil, isBuiltIn: Bool, line: Int?,
        sources: [String: Source] = [:]
    ) {
        self.id = id
        self.name = name
        self.key = key
        self.rows = rows
        self.columns = columns
        self.checks = checks.sorted { $0.kind.utf8.lexicographicallyPrecedes($1.kind.utf8) }
        self.route = route
        self.countFunction = countFunction
        self.isBuiltIn = isBuiltIn
        self.line = line
        self.sources = sources
    }

    /// The delete policy of a mutable table; nil for an insert-only one.
    public var delete: DeletePolicy? {
        if case .mutable(let delete) = rows { return delete }
        return nil
    }

    /// The declared rule of `column`, or nil when it has none (it then merges by default).
    public func declaredRule(for column: SQLIdentifier) -> ColumnRuleSpec? {
        columns.first { $0.name == column }?.rule
    }

    /// How `column` merges. Before a declared table's primary key is resolved, its columns
    /// read as non-key.
    public func merge(of column: SQLIdentifier) -> ColumnMerge {
        if key?.contains(where: { $0.name == column }) == true { return .key }
        if let rule = declaredRule(for: column) { return .declared(rule) }
        return rows == .insertOnly ? .immutable : .defaultLWW
    }

    /// This spec with the key the database gives it (its primary key, read by `TableResolver`),
    /// validated again: a rule or a route that the resolved key makes wrong is reported then.
    public func resolvingKey(_ key: [KeyColumn]) throws(DeclarationError) -> TableSpec {
        let resolved = TableSpec(
            id: id, name: name, key: key, rows: rows, columns: columns, checks: checks, route: route,
            countFunction: countFunction, isBuiltIn: isBuiltIn, line: line, sources: sources)
        try resolved.validate()
        return resolved
    }

    /// The checks that need only this table (CONTRACT §6.2, §8); check expressions are checked as
    /// they are read, and `with` targets by the catalog.
    func validate() throws(DeclarationError) {
        let keyNames = key.map { $0.map(\.name) }
        if let keyNames {
            if keyNames.count > Self.maxKeyColumns {
                throw error(
                    "key", "a key has at most \(Self.maxKeyColumns) columns (PostgreSQL's index limit), not \(keyNames.count)")
            }
            for column in columns where column.rule != nil && keyNames.contains(column.name) {
                throw error(
                    Self.columnKey(column.name),
                    "\(column.name) is a key column; key columns identify the row and take no rule")
            }
        }
        if rows == .insertOnly {
            for column in columns {
                if let rule = column.rule, rule != .local {
                    throw error(
                        Self.columnKey(column.name),
                        "an insert_only table's columns never change, so the only rule it takes is local, not \(rule)")
                }
            }
        }
        for column in route.columns {
            if declaredRule(for: column) == .local {
                throw error("route", "the route column \(column) is local, so its value differs between sites")
            }
            guard rows != .insertOnly else { continue }
            guard let keyNames else { continue }  // checked once the primary key is known
            if !keyNames.contains(column) {
                throw error(
                    "route",
                    "the route column \(column) is not a key column; a row's route must never change,"
                        + " so route by a key column (or make the table insert_only)")
            }
        }
    }

    /// PostgreSQL's INDEX_MAX_KEYS: a key must be covered by a unique index.
    public static let maxKeyColumns = 32

    static let columnPrefix = "column."
    static let checkPrefix = "check."

    static func columnKey(_ name: SQLIdentifier) -> String { "column:" + name.name }

    /// An error about the entry recorded under `key`, at its line; at the header when unknown.
    func error(_ key: String, _ message: String) -> DeclarationError {
        let source = sources[key]
        return DeclarationError(line: source?.line ?? line ?? 0, key: source?.key, message: message)
    }
}
