import Catalog
import MergeCore

/// A conflict found while merging into one site, as stored in its `omnisync.conflicts`.
///
/// `id` is derived from what the conflict is about (kind, row, and the versions involved), so the
/// same conflict detected at several sites, or again after a retry, has the same id everywhere.
struct ConflictRecord: Sendable, Equatable {
    let id: String
    let kind: ConflictKind
    /// As `omnisync.conflicts.table_name` holds it: `stock`, `order_status` for the retail tables.
    let tableName: String
    /// The row's key as a JSON object of its key columns.
    let keyJSON: String
    /// A JSON object.
    let detail: String

    init(kind: ConflictKind, table: ReplicatedTable, key: RowKey, discriminator: String = "", detail: String) {
        self.kind = kind
        self.tableName = table.name
        self.keyJSON = key.json(for: table)
        self.detail = detail
        self.id = ConflictRecord.stableID(
            [kind.rawValue, table.name, key.k1, key.k2 ?? "", discriminator].joined(separator: "\u{1F}"))
    }

    /// A conflict the generic apply path found in a table whose capture is generated; nil for a
    /// kind this version does not record.
    init?(_ conflict: ApplyPlan.Conflict, table: CaptureTable) {
        guard let kind = ConflictKind(rawValue: conflict.kind) else { return nil }
        self.id = conflict.id
        self.kind = kind
        self.tableName = table.name.schema.name == BuiltInTables.schema ? table.name.name.name : table.name.description
        self.keyJSON = table.keyJSON(conflict.key)
        self.detail = conflict.detail
    }

    /// FNV-1a, 64 bits, as 16 hex digits: stable across processes and platforms.
    static func stableID(_ fingerprint: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in fingerprint.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func stampJSON(_ stamp: HybridTimestamp) -> [(String, String)] {
        [("site", JSONText.quote(stamp.site)), ("hlc", String(stamp.time))]
    }
}
