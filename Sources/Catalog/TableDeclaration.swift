/// What one `[table SCHEMA.NAME]` section of the configuration says (CONTRACT §6.2).
///
/// A section names either a table of the application's own, which it describes completely, or a
/// built-in `retail` table, whose rules are fixed: there it may only set `route` and add checks.
public enum TableDeclaration: Sendable, Equatable {
    /// A table of the application's own, validated on its own (the catalog checks `with` targets).
    case table(TableSpec)
    /// A `[table retail.X]` section: its route and extra checks, merged into the built-in spec.
    case builtIn(BuiltInOverride)

    /// One `key = value` line of the section.
    public typealias Entry = (key: String, value: String, line: Int)

    /// A `[table retail.X]` section.
    public struct BuiltInOverride: Sendable, Equatable {
        public let name: QualifiedName
        public let line: Int
        public let route: Route?
        public let checks: [TableSpec.Check]
        let sources: [String: TableSpec.Source]
    }

    /// The table the section is about.
    public var name: QualifiedName {
        switch self {
        case .table(let spec): spec.name
        case .builtIn(let override): override.name
        }
    }

    /// The line of the section header.
    public var line: Int {
        switch self {
        case .table(let spec): spec.line ?? 0
        case .builtIn(let override): override.line
        }
    }

    /// The keys a section of a declared table takes, for messages.
    public static let keys = "key, rows, delete, column.NAME, check.KIND and route"

    /// Reads a section: `name` is the header's argument (`pos.inventory`), `line` the header's line.
    /// Every error names the line and the key it is about (the header's line and no key for the name).
    public static func parse(name: String, line: Int, entries: [Entry]) throws(DeclarationError)
        -> TableDeclaration
    {
        let table: QualifiedName
        do { table = try QualifiedName.parse(name) } catch {
            throw DeclarationError(line: line, key: nil, message: "table name '\(name)': \(error.message)")
        }
        if let message = reservedSchemaMessage(table) {
            throw DeclarationError(line: line, key: nil, message: message)
        }
        if table.schema.name == BuiltInTables.schema {
            guard let builtIn = BuiltInTables.spec(named: table) else {
                throw DeclarationError(
                    line: line, key: nil,
                    message: "retail is omnisync's own schema and has no table \(table.name);"
                        + " its tables are \(BuiltInTables.all.map { $0.name.name.name }.joined(separator: ", "))")
            }
            try refuseRepeatedKeys(entries)
            return .builtIn(try parseOverride(of: builtIn, line: line, entries: entries))
        }
        try refuseRepeatedKeys(entries)
        return .table(try parseTable(table, line: line, entries: entries))
    }

    /// The INI parser refuses them already; a caller that builds entries itself gets the same.
    private static func refuseRepeatedKeys(_ entries: [Entry]) throws(DeclarationError) {
        var seen: [String: Int] = [:]
        for entry in entries {
            if let first = seen[entry.key] {
                throw DeclarationError(line: entry.line, key: entry.key, message: "set twice (first on line \(first))")
            }
            seen[entry.key] = entry.line
        }
    }

    private static func parseTable(_ table: QualifiedName, line: Int, entries: [Entry]) throws(DeclarationError)
        -> TableSpec
    {
        var key: [TableSpec.KeyColumn]?
        var insertOnly = false
        var delete: TableSpec.DeletePolicy?
        var columns: [TableSpec.Column] = []
        var checks: [TableSpec.Check] = []
        var route = Route.all
        var sources: [String: TableSpec.Source] = [:]

        for entry in entries {
            let fail = { (message: String) in DeclarationError(line: entry.line, key: entry.key, message: message) }
            let source = TableSpec.Source(key: entry.key, line: entry.line)
            switch entry.key {
            case "key":
                guard !entry.value.trimmingSpaces.isEmpty else {
                    throw fail("the key is empty; leave 'key' out to use the table's primary key")
                }
                do { key = try SQLIdentifier.parseList(entry.value).map { TableSpec.KeyColumn($0) } } catch {
                    throw fail(error.message)
                }
                sources["key"] = source
            case "rows":
                switch entry.value.trimmingSpaces {
                case "mutable": insertOnly = false
                case "insert_only": insertOnly = true
                default: throw fail("'\(entry.value)' is not a rows policy; use mutable or insert_only")
                }
                sources["rows"] = source
            case "delete":
                guard let policy = TableSpec.DeletePolicy(rawValue: entry.value.trimmingSpaces) else {
                    throw fail("'\(entry.value)' is not a delete policy; use add_wins or refuse")
                }
                delete = policy
                sources["delete"] = source
            case "route":
                do { route = try Route.parse(entry.value) } catch { throw fail(error.message) }
                sources["route"] = source
            case let key where key.hasPrefix(TableSpec.columnPrefix):
                let column: SQLIdentifier
                do { column = try SQLIdentifier.parse(String(key.dropFirst(TableSpec.columnPrefix.count))) } catch {
                    throw fail("column name: \(error.message)")
                }
                let rule: ColumnRuleSpec
                do { rule = try ColumnRuleSpec.parse(entry.value) } catch { throw fail(error.message) }
                if let first = sources[TableSpec.columnKey(column)] {
                    throw fail("the column \(column) already has a rule (line \(first.line), key '\(first.key)')")
                }
                columns.append(TableSpec.Column(column, rule: rule))
                sources[TableSpec.columnKey(column)] = source
            case let key where key.hasPrefix(TableSpec.checkPrefix):
                checks.append(try parseCheck(entry))
                sources[key] = source
            default:
                throw fail("unknown key in [table \(table)]; a table takes \(keys)")
            }
        }
        if insertOnly, let deleteSource = sources["delete"] {
            throw DeclarationError(
                line: deleteSource.line, key: deleteSource.key,
                message: "an insert_only table's rows are never deleted; 'delete' applies to mutable rows only")
        }
        let spec = TableSpec(
            id: TableID.derived(from: table), name: table, key: key,
            rows: insertOnly ? .insertOnly : .mutable(delete: delete ?? .addWins),
            columns: columns.sorted { $0.name < $1.name }, checks: checks, route: route,
            isBuiltIn: false, line: line, sources: sources)
        try spec.validate()
        return spec
    }

    private static func parseOverride(of builtIn: TableSpec, line: Int, entries: [Entry]) throws(DeclarationError)
        -> BuiltInOverride
    {
        var route: Route?
        var checks: [TableSpec.Check] = []
        var sources: [String: TableSpec.Source] = [:]
        for entry in entries {
            let source = TableSpec.Source(key: entry.key, line: entry.line)
            if entry.key == "route" {
                do { route = try Route.parse(entry.value) } catch {
                    throw DeclarationError(line: entry.line, key: entry.key, message: error.message)
                }
                sources["route"] = source
            } else if entry.key.hasPrefix(TableSpec.checkPrefix) {
                let check = try parseCheck(entry)
                if builtIn.checks.contains(where: { $0.kind == check.kind }) {
                    throw DeclarationError(
                        line: entry.line, key: entry.key,
                        message: "\(builtIn.name) already has the built-in check \(check.kind); choose another kind")
                }
                checks.append(check)
                sources[entry.key] = source
            } else {
                throw DeclarationError(
                    line: entry.line, key: entry.key,
                    message: "the rules of the built-in table \(builtIn.name) are fixed;"
                        + " its section may only set 'route' and add 'check.KIND'")
            }
        }
        return BuiltInOverride(name: builtIn.name, line: line, route: route, checks: checks, sources: sources)
    }

    private static func parseCheck(_ entry: Entry) throws(DeclarationError) -> TableSpec.Check {
        let kind = String(entry.key.dropFirst(TableSpec.checkPrefix.count))
        guard Route.isValidNamespace(kind) else {
            throw DeclarationError(
                line: entry.line, key: entry.key,
                message: "the check kind '\(kind)' must be 1-63 characters of a-z 0-9 _ (it names the conflict)")
        }
        do { try CheckExpression.validate(entry.value) } catch {
            throw DeclarationError(line: entry.line, key: entry.key, message: error.message)
        }
        return TableSpec.Check(kind: kind, expression: entry.value)
    }

    /// Schemas that hold no application table: omnisync's own and PostgreSQL's.
    private static func reservedSchemaMessage(_ table: QualifiedName) -> String? {
        let schema = table.schema.name
        if schema == "omnisync" { return "the omnisync schema holds omnisync's bookkeeping, not tables to replicate" }
        if schema.hasPrefix("pg_") || schema == "information_schema" {
            return "\(table.schema) is a PostgreSQL system schema; its tables cannot be replicated"
        }
        return nil
    }
}
