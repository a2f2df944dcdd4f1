import Catalog
import MergeCore
import Synchronization

/// The tables the engine replicates through the generic path (CaptureDDL's capture, the rules of
/// MergeCore, `DeclaredApplier`), by outbox table id: the retail tables of CONTRACT §7, and the
/// application's declared tables as `migrate` installed them at the sites
/// (`omnisync.declared_table`). v1's five tables keep their own path (`ReplicatedTable`).
struct GeneratedTables: Sendable {
    /// By table id.
    let appliers: [Int: DeclaredApplier]

    var ids: [Int] { appliers.keys.sorted() }

    func applier(_ id: Int) -> DeclaredApplier? { appliers[id] }

    /// The built-in tables of §7 alone.
    static let builtIn: GeneratedTables = {
        var appliers: [Int: DeclaredApplier] = [:]
        for spec in BuiltInTables.generatedCapture {
            do {
                appliers[Int(spec.id.rawValue)] = try DeclaredApplier(table: BuiltInTables.captureTable(spec), checks: spec.checks)
            } catch {
                // The specs are fixed and their names valid: this cannot happen in a release.
                preconditionFailure("built-in table \(spec.name): \(error)")
            }
        }
        return GeneratedTables(appliers: appliers)
    }()

    /// The built-in tables and `declared` (as installed), each with the checks its spec declares.
    static func with(declared: [CaptureTable], catalog: TableCatalog) throws(SyntaxError) -> GeneratedTables {
        var appliers = builtIn.appliers
        for table in declared {
            appliers[Int(table.id.rawValue)] = try DeclaredApplier(table: table, checks: catalog.table(id: table.id)?.checks ?? [])
        }
        return GeneratedTables(appliers: appliers)
    }

    /// The generated tables of the retail schema only, as `CaptureTable`s.
    static let builtInCaptureTables: [CaptureTable] = BuiltInTables.generatedCapture.map(BuiltInTables.captureTable)

    /// How many key columns the rows of table `id` have, for any table the engine replicates.
    func keyCount(ofTable id: Int) -> Int? {
        ReplicatedTable(rawValue: id)?.keyColumns.count ?? applier(id)?.table.key.count
    }

    /// The key of a row as JSON (`{"customer_id":"C-1"}`), for any table the engine replicates.
    func keyJSON(ofTable id: Int, _ key: RowKey) -> String? {
        if let table = ReplicatedTable(rawValue: id) { return key.json(for: table) }
        guard let table = applier(id)?.table else { return nil }
        return table.keyJSON(key.parts(arity: table.key.count))
    }

    /// A table's name as logs and `omnisync.conflicts` give it: `stock`, `customers` for the retail
    /// tables, `pos.inventory` for a declared one.
    func name(ofTable id: Int) -> String? {
        if let table = ReplicatedTable(rawValue: id) { return table.name }
        guard let table = applier(id)?.table else { return nil }
        return table.name.schema.name == BuiltInTables.schema ? table.name.name.name : table.name.description
    }

    /// The row's key as a record names it: a stored quarantine key of a table of `arity` columns.
    func recordKey(ofTable id: Int, k1: String, k2: String) -> RowKey {
        RowKey(k1, (keyCount(ofTable: id) ?? 2) > 1 ? k2 : nil)
    }
}

/// The generated tables of one engine, as the sites' sessions find them installed. Every site must
/// have installed a declared table from the same description (the columns and types of its
/// `migrate`): a site that differs is refused, so a state is never read with another site's layout.
final class InstalledTables: Sendable {
    private struct State {
        var tables: GeneratedTables
        /// Which site each declared table's description was first read from.
        var firstSeen: [Int: (site: String, table: CaptureTable)] = [:]
    }

    let catalog: TableCatalog
    private let state: Mutex<State>

    init(catalog: TableCatalog) {
        self.catalog = catalog
        state = Mutex(State(tables: .builtIn))
    }

    var current: GeneratedTables { state.withLock { $0.tables } }

    /// Adds the tables a site's session read from `omnisync.declared_table`; the reason the site
    /// cannot be synced if one differs from what another site installed.
    func register(site: String, declared: [CaptureTable]) -> String? {
        state.withLock { state -> String? in
            for table in declared {
                let id = Int(table.id.rawValue)
                if let first = state.firstSeen[id], first.table != table {
                    return "\(table.name) was installed with other columns or types here than at \(first.site);"
                        + " run omnisync check, make the tables alike, then omnisync migrate"
                }
            }
            var added = false
            for table in declared where state.firstSeen[Int(table.id.rawValue)] == nil {
                state.firstSeen[Int(table.id.rawValue)] = (site, table)
                added = true
            }
            guard added else { return nil }
            do {
                state.tables = try .with(declared: state.firstSeen.values.map(\.table), catalog: catalog)
            } catch {
                return "a declared table's description cannot be used: \(error)"
            }
            return nil
        }
    }
}

extension CaptureTable {
    /// A row's key as a JSON object of its key columns (`{"customer_id":"C-1"}`), as
    /// `RowKey.json(for:)` gives it for v1's tables.
    func keyJSON(_ key: [String]) -> String {
        JSONText.object(zip(self.key, key).map { ($0.name.name, JSONText.quote($1)) })
    }
}

extension RowKey {
    /// The key of a row of a generated table, each column as text in key order. A key of more
    /// than two columns keeps its first in `k1` and the rest in `k2`, as an array literal
    /// (`{"store 7",lot-3}`), so the outbox's and the quarantine's two key columns hold any key.
    init(parts: [String]) {
        switch parts.count {
        case 1: self.init(parts[0], nil)
        case 2: self.init(parts[0], parts[1])
        default: self.init(parts[0], PostgresArray.literal(parts.dropFirst().map { Optional($0) }))
        }
    }

    /// The parts of a key of a table with `arity` key columns (see `init(parts:)`).
    func parts(arity: Int) -> [String] {
        switch arity {
        case ...1: return [k1]
        case 2: return [k1, k2 ?? ""]
        default: return [k1] + ((try? PostgresArray.parseStrings(k2 ?? "{}")) ?? [k2 ?? ""])
        }
    }
}
