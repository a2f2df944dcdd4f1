/// Puts a table's declaration and what a site's database holds side by side: the capture
/// description (`CaptureTable`) when they fit, and every problem with its fix either way.
///
/// Fatal (capture cannot be installed, or would lose or corrupt rows): the table or a declared
/// column missing; no key (no primary key and none declared); a key no primary key or unique
/// index covers; a rule on a key column; `counter` on a column that is not smallint, integer,
/// bigint or numeric; `status` on a column that is not text; a sequence (serial or identity)
/// column that is replicated — its values collide between sites — or in the key; a generated
/// column that is not `local`; a `local` column that is NOT NULL without a default (a row
/// arriving from elsewhere could not be inserted).
///
/// Warnings (capture works, but the application should know): a foreign key that is not
/// deferrable (rows arrive in any order: a return before its order); a unique index beside the
/// key, or partial (a merged write can violate it at a site, and is then quarantined there).
public enum TableResolver {
    /// What the contract allows a counter on; `numeric` needs a precision (at most 18) and scale.
    public static let counterTypes: Set<String> = ["smallint", "integer", "bigint", "numeric"]
    public static let statusTypes: Set<String> = ["text", "character varying"]

    public static func resolve(_ spec: TableSpec, facts: TableFacts?) -> (table: CaptureTable?, problems: [CheckProblem]) {
        let name = spec.name
        guard let facts else {
            return (nil, [CheckProblem(
                .fatal, table: name, message: "the table does not exist at this site",
                fix: "create \(name.sql) at this site, or remove its [table] section")])
        }
        var problems: [CheckProblem] = []
        func fatal(_ column: String?, _ message: String, _ fix: String) {
            problems.append(CheckProblem(.fatal, table: name, column: column, message: message, fix: fix))
        }
        func warning(_ column: String?, _ message: String, _ fix: String) {
            problems.append(CheckProblem(.warning, table: name, column: column, message: message, fix: fix))
        }

        // The key.
        let keyNames: [String]
        if let declared = spec.key {
            keyNames = declared.map(\.name.name)
        } else if let primary = facts.primaryKey {
            keyNames = primary
        } else {
            fatal(nil, "the table has no primary key and the declaration names no key",
                  "add key = COLUMN, … (columns that identify a row at every site) to the [table] section")
            keyNames = []
        }
        for column in keyNames where facts.column(column) == nil {
            fatal(column, "the key column does not exist", "add the column at this site, or change key =")
        }
        let keySet = Set(keyNames)
        if !keyNames.isEmpty, !facts.indexes.contains(where: { index in
            (index.isPrimary || index.isUnique) && !index.isPartialOrExpression && !index.columns.isEmpty
                && Set(index.columns).isSubset(of: keySet)
        }) {
            fatal(nil, "no primary key or unique index covers the key (\(keyNames.joined(separator: ", ")))",
                  "CREATE UNIQUE INDEX ON \(name.sql) (\(keyNames.map(quote).joined(separator: ", ")))")
        }

        // Declared columns that the table lacks.
        for column in spec.columns where facts.column(column.name.name) == nil {
            fatal(column.name.name, "the declared column does not exist",
                  "add the column at this site, or remove column.\(column.name.name) from the declaration")
        }

        var columns: [CaptureTable.Column] = []
        for column in facts.columns {
            guard let identifier = try? SQLIdentifier(exactly: column.name) else { continue }
            let type = SQLType(column.type)
            let base = type.baseName
            if keySet.contains(column.name) {
                if spec.declaredRule(for: identifier) != nil {
                    fatal(column.name, "a key column cannot have a merge rule", "remove column.\(column.name) from the declaration")
                }
                if column.isSequence {
                    fatal(column.name, "the key takes its values from a sequence, which collide between sites",
                          "declare key = the natural key columns, and column.\(column.name) = local")
                }
                continue
            }
            let rule: CaptureTable.Rule
            switch spec.merge(of: identifier) {
            case .key: continue
            case .immutable: rule = .immutable
            case .defaultLWW: rule = .lww
            case .declared(let declared):
                switch declared {
                case .counter: rule = .counter
                case .lww: rule = .lww
                case .greatest: rule = .greatest
                case .least: rule = .least
                case .status(let order): rule = .status(order)
                case .local: rule = .local
                }
            }
            switch rule {
            case .counter where !counterTypes.contains(base):
                fatal(column.name, "counter on a column of type \(column.type)",
                      "a counter must be smallint, integer, bigint or numeric; declare another rule")
            case .counter where base == "numeric":
                // Contributions are 64-bit counts of the column's smallest unit (CounterScale).
                let limit = CounterScale.maximumPrecision
                if let numeric = type.numericPrecisionAndScale {
                    if numeric.precision > limit {
                        fatal(column.name, "counter on \(column.type): more than \(limit) digits cannot be counted exactly",
                              "give the column at most \(limit) digits (ALTER TABLE … TYPE numeric(\(limit),\(numeric.scale))), or declare another rule")
                    }
                } else {
                    fatal(column.name, "counter on a numeric column without precision and scale",
                          "give the column its precision and scale (ALTER TABLE … TYPE numeric(\(limit),3) for quantities to the thousandth), or declare another rule")
                }
            case .status where !statusTypes.contains(base):
                fatal(column.name, "status(…) on a column of type \(column.type)", "a status column must be text")
            default:
                break
            }
            if rule != .local {
                if column.isSequence {
                    fatal(column.name, "a sequence (serial or identity) column would be replicated; its values collide between sites",
                          "declare column.\(column.name) = local")
                }
                if column.isGenerated {
                    fatal(column.name, "a generated column cannot be written by replication", "declare column.\(column.name) = local")
                }
            } else if column.notNull, !column.hasDefault, !column.isGenerated {
                fatal(column.name, "a local column is NOT NULL without a default: a row arriving from another site cannot be inserted",
                      "give the column a default, or allow NULL")
            }
            columns.append(.init(identifier, type, rule))
        }

        for foreignKey in facts.foreignKeys where !foreignKey.isDeferrable {
            warning(foreignKey.columns.joined(separator: ", "),
                    "foreign key \(foreignKey.name) to \(foreignKey.references): rows arrive in any order, a child may come before its parent",
                    "drop it, or make it DEFERRABLE INITIALLY DEFERRED; rows that violate it are quarantined at that site until the parent arrives")
        }
        // A unique index is implied by the key when it holds every key column; one on local columns
        // only (a site's own serial id) holds at each site by itself. Any other is a constraint the
        // merge does not know of.
        // Sequence columns count as local here: when they are not, that is already fatal above.
        let local = Set(columns.filter { $0.rule == .local }.map(\.name.name))
            .union(facts.columns.filter(\.isSequence).map(\.name))
        for index in facts.indexes where index.isUnique {
            let indexed = Set(index.columns)
            let implied = !index.isPartialOrExpression && (keySet.isSubset(of: indexed) || (!indexed.isEmpty && indexed.isSubset(of: local)))
            guard !implied else { continue }
            warning(index.columns.joined(separator: ", "),
                    "unique index \(index.name) beside the key: two sites can write the same value for different keys",
                    "drop it if the key is what identifies a row; otherwise the second row is quarantined where it collides")
        }

        let key = keyNames.compactMap { name -> CaptureTable.KeyColumn? in
            guard let column = facts.column(name), let identifier = try? SQLIdentifier(exactly: name) else { return nil }
            return .init(identifier, SQLType(column.type))
        }
        let fatalFound = problems.contains { $0.severity == .fatal }
        // A declared table's columns by name, not by position: a column dropped and added again at
        // one site moves to the end of its table there, and the sites must still agree on what they
        // capture. The built-in tables keep their order, which their released migrations have.
        let ordered = spec.isBuiltIn ? columns : columns.sorted { $0.name < $1.name }
        let table = fatalFound ? nil : CaptureTable(id: spec.id, name: name, key: key, columns: ordered, rows: spec.rows)
        return (table, problems)
    }
}

/// `name` double-quoted, for messages that show SQL to type.
private func quote(_ name: String) -> String {
    (try? SQLIdentifier(exactly: name))?.quoted ?? name
}

extension TableResolver {
    /// What changed at a site since `migrate` installed `installed` there: a column the
    /// application added (not replicated until migrate covers it), a column whose type changed, and
    /// a replicated column that is gone (its rows from other sites are held at this site).
    public static func drift(installed: CaptureTable, resolved: CaptureTable?, facts: TableFacts?) -> [CheckProblem] {
        guard let facts else { return [] }  // the missing table is reported by `resolve`
        let name = installed.name
        let present = Set(facts.columns.map(\.name))
        var problems: [CheckProblem] = []
        for column in installed.columns where column.rule != .local && !present.contains(column.name.name) {
            problems.append(CheckProblem(
                .fatal, table: name, column: column.name.description,
                message: "the column was replicated when omnisync migrate last ran and is gone from this site;"
                    + " changes of its rows from other sites are quarantined here",
                fix: "restore it (ALTER TABLE \(name.sql) ADD COLUMN \(column.name.quoted) \(column.type.name)), then run omnisync migrate"))
        }
        guard let resolved else { return problems }
        let before = Dictionary(installed.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for column in resolved.columns {
            guard let old = before[column.name] else {
                problems.append(CheckProblem(
                    .warning, table: name, column: column.name.description,
                    message: "the column was added after omnisync migrate: it is not replicated yet",
                    fix: "declare its rule if it is not lww (column.\(column.name.description) = …), then run omnisync migrate"))
                continue
            }
            if old.type != column.type {
                problems.append(CheckProblem(
                    .warning, table: name, column: column.name.description,
                    message: "the column's type is \(column.type.name), was \(old.type.name) when omnisync migrate last ran",
                    fix: "make it alike at every site, then run omnisync migrate"))
            }
        }
        return problems
    }
}
