/// Every replicated table: the built-in retail tables, with their `[table retail.X]` routes and
/// checks merged in, and the application's declared tables, validated across tables.
///
/// Its ``canonicalText`` and ``hash`` depend only on what the tables mean, never on the order of the
/// declarations or on `Dictionary` order, so every site and every daemon computes the same hash
/// from the same configuration and can refuse to work on a site migrated with another one.
public struct TableCatalog: Sendable, Equatable {
    /// Sorted by qualified name (UTF-8 bytes).
    public let tables: [TableSpec]

    /// The built-in tables alone, as a configuration with no `[table]` section gives.
    public static let builtIn = TableCatalog(sorted: BuiltInTables.all)

    /// Builds the catalog from the configuration's `[table]` sections, in file order. Errors name
    /// the line and key: a table declared twice (the second header), a `with` route to a table that
    /// is not replicated, to itself, around a cycle or with the wrong number of columns, a check kind
    /// a built-in table already has, a route a built-in table's key does not allow.
    public init(declarations: [TableDeclaration]) throws(DeclarationError) {
        var byName: [QualifiedName: TableSpec] = [:]
        for spec in BuiltInTables.all { byName[spec.name] = spec }
        var declaredAt: [QualifiedName: Int] = [:]
        for declaration in declarations {
            if let first = declaredAt[declaration.name] {
                throw DeclarationError(
                    line: declaration.line, key: nil,
                    message: "the table \(declaration.name) is declared twice (first on line \(first))")
            }
            declaredAt[declaration.name] = declaration.line
            switch declaration {
            case .table(let spec):
                byName[spec.name] = spec
            case .builtIn(let override):
                guard let builtIn = byName[override.name] else { continue }  // parse guarantees it exists
                let merged = TableSpec(
                    id: builtIn.id, name: builtIn.name, key: builtIn.key, rows: builtIn.rows, columns: builtIn.columns,
                    checks: builtIn.checks + override.checks, route: override.route ?? builtIn.route,
                    countFunction: builtIn.countFunction, isBuiltIn: true, line: override.line,
                    sources: override.sources)
                try merged.validate()
                byName[merged.name] = merged
            }
        }
        let tables = byName.values.sorted { $0.name < $1.name }
        try Self.checkIDs(tables)
        for table in tables { try Self.checkWithRoute(of: table, in: byName) }
        self.init(sorted: tables)
    }

    private init(sorted tables: [TableSpec]) {
        self.tables = tables.sorted { $0.name < $1.name }
    }

    public func table(named name: QualifiedName) -> TableSpec? {
        tables.first { $0.name == name }
    }

    public func table(id: TableID) -> TableSpec? {
        tables.first { $0.id == id }
    }

    /// Two declared names whose derived ids collide cannot both be kept apart in the outbox.
    private static func checkIDs(_ tables: [TableSpec]) throws(DeclarationError) {
        var seen: [TableID: TableSpec] = [:]
        for table in tables {
            if let other = seen[table.id] {
                throw DeclarationError(
                    line: table.line ?? 0, key: nil,
                    message: "the table id \(table.id) derived from the name \(table.name) is also that of \(other.name);"
                        + " the two cannot be replicated together")
            }
            seen[table.id] = table
        }
    }

    /// A `with` route needs a replicated parent, keyed by as many columns, and a chain of parents
    /// that ends (each row goes where its parent goes, so a cycle would decide nothing).
    private static func checkWithRoute(of table: TableSpec, in byName: [QualifiedName: TableSpec])
        throws(DeclarationError)
    {
        guard case .with(let parentName, let columns) = table.route else { return }
        guard parentName != table.name else {
            throw table.error("route", "a table cannot route with itself")
        }
        guard let parent = byName[parentName] else {
            throw table.error(
                "route",
                "\(parentName) is not a replicated table (neither built in nor declared in a [table] section)")
        }
        if let parentKey = parent.key, parentKey.count != columns.count {
            throw table.error(
                "route",
                "\(parentName) has a key of \(parentKey.count) column(s) (\(parentKey.map(\.name.description).joined(separator: ", "))),"
                    + " so 'with' names \(parentKey.count), not \(columns.count)")
        }
        var path = [table.name]
        var current = parent
        // Each step adds a table to the path, so a chain ends or repeats within `byName.count` steps.
        for _ in 0...byName.count {
            path.append(current.name)
            guard case .with(let next, _) = current.route, let nextSpec = byName[next] else { return }
            if path.contains(next) {
                let cycle = (path + [next]).map(\.description).joined(separator: " -> ")
                throw table.error("route", "the with routes go around in a circle: \(cycle)")
            }
            current = nextSpec
        }
    }
}
