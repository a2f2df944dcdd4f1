import Catalog
import MergeCore

/// The tables the engine replicates through the generic path (CaptureDDL's capture, the rules of
/// MergeCore, `DeclaredApplier`), by outbox table id: today the retail tables of CONTRACT §7.
/// v1's five tables keep their own path (`ReplicatedTable`).
struct GeneratedTables: Sendable {
    /// By table id, in id order.
    let appliers: [Int: DeclaredApplier]

    var ids: [Int] { appliers.keys.sorted() }

    func applier(_ id: Int) -> DeclaredApplier? { appliers[id] }

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

    /// How many key columns the rows of table `id` have, for any table the engine replicates.
    static func keyCount(ofTable id: Int) -> Int? {
        ReplicatedTable(rawValue: id)?.keyColumns.count ?? builtIn.applier(id)?.table.key.count
    }

    /// The key of a row as JSON (`{"customer_id":"C-1"}`), for any table the engine replicates.
    static func keyJSON(ofTable id: Int, _ key: RowKey) -> String? {
        if let table = ReplicatedTable(rawValue: id) { return key.json(for: table) }
        return builtIn.applier(id)?.table.keyJSON(key.parts)
    }

    /// A table's name as logs and `omnisync.conflicts` give it: `stock`, `customers`.
    static func name(ofTable id: Int) -> String? {
        ReplicatedTable(rawValue: id)?.name ?? builtIn.applier(id)?.table.name.name.name
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
    /// The key of a row of a generated table, whose keys have one or two columns so far (the
    /// outbox's and the quarantine's k1 and k2).
    init(parts: [String]) {
        self.init(parts[0], parts.count > 1 ? parts[1] : nil)
    }

    var parts: [String] { [k1] + (k2.map { [$0] } ?? []) }
}
