import Foundation
import Postgres

/// What an application does to its own declared tables (`pos.shelf`, `pos.ticket`) in the soak,
/// as the SQL a till would run. Each is one transaction. Quantities are in thousandths.
enum SoakDeclaredOperation: Sendable, CustomStringConvertible {
    /// Goods put on a shelf (or taken off, `units` < 0), with a new price and a high-water mark:
    /// creates the row if this site has none (several sites may create it at once). `status` is
    /// the state a created row starts with (the update branch leaves the state alone); `note` is
    /// the till's local note.
    case upsert(key: ShelfKey, units: Int64, price: String?, hi: Int64?, status: String?, note: String)
    /// A till sale: an insert-only ticket and the shelf's quantity, in one transaction; a shelf
    /// this site does not hold is left alone.
    case sale(key: ShelfKey, units: Int64, ticket: String, amount: Int64)
    /// A new price (always a new text) and a high-water mark, on a row this site holds.
    case reprice(key: ShelfKey, price: String, hi: Int64)
    /// The state moved forward to `status`, if this site's row is not already there or beyond.
    case status(key: ShelfKey, status: String)
    /// An add-wins delete.
    case delete(key: ShelfKey)
    /// Only the local column changes: no event.
    case note(key: ShelfKey, note: String)
    /// A physical count of `qty` through `omnisync.record_count`.
    case count(key: ShelfKey, units: Int64)
    /// A shelf delta in a two-phase transaction (notifications off), prepared, then committed or
    /// rolled back `seconds` later.
    case prepared(key: ShelfKey, units: Int64, seconds: Double, commit: Bool, name: String)
    /// A ticket on its own. A `shared` number is one two tills may both hand out (predicted: a
    /// `duplicate_key` conflict if both inserts commit, a unique violation if one had arrived).
    case ticket(number: String, amount: Int64, shared: Bool)

    private static let keyMatch = "item = $1 AND \"storeId\" = $2 AND bin = $3"

    func execute(_ connection: PostgresConnection, site: String) throws -> SoakOperation.Result {
        let scale = SoakDeclared.scale
        switch self {
        case .upsert(let key, let units, let price, let hi, let status, let note):
            let result = try connection.query(
                """
                INSERT INTO pos.shelf AS s (item, "storeId", bin, qty, price, hi, state, note)
                VALUES ($1, $2, $3, $4::numeric, $5, $6::bigint, $7, $8)
                ON CONFLICT (item, "storeId", bin) DO UPDATE
                SET qty = s.qty + excluded.qty, price = excluded.price, hi = excluded.hi, note = excluded.note
                RETURNING (xmax = 0)::text
                """, key.parameters + [scale.text(units: units), price, hi.map(String.init), status, note], label: "soak shelf upsert")
            return SoakOperation.Result(affected: result.affectedRows, inserted: result.rows.first?[0] == "true")
        case .sale(let key, let units, let ticket, let amount):
            let changed = try connection.transaction(label: "soak shelf sale") { transaction throws(PostgresError) -> Int in
                try transaction.query(
                    "INSERT INTO pos.ticket (ticket_no, amount, site) VALUES ($1, $2::bigint, $3)", [ticket, String(amount), site],
                    label: "soak sale ticket")
                return try transaction.query(
                    "UPDATE pos.shelf SET qty = qty - $4::numeric WHERE \(Self.keyMatch)", key.parameters + [scale.text(units: units)],
                    label: "soak shelf sale"
                ).affectedRows
            }
            return SoakOperation.Result(affected: changed)
        case .reprice(let key, let price, let hi):
            let changed = try connection.query(
                "UPDATE pos.shelf SET price = $4, hi = $5::bigint WHERE \(Self.keyMatch)", key.parameters + [price, String(hi)],
                label: "soak shelf reprice")
            return SoakOperation.Result(affected: changed.affectedRows)
        case .status(let key, let status):
            let changed = try connection.query(
                """
                UPDATE pos.shelf SET state = $4 WHERE \(Self.keyMatch)
                AND coalesce(array_position(\(SoakDeclared.statusArray), state), 0) < array_position(\(SoakDeclared.statusArray), $4)
                """, key.parameters + [status], label: "soak shelf status")
            return SoakOperation.Result(affected: changed.affectedRows)
        case .delete(let key):
            let deleted = try connection.query(
                "DELETE FROM pos.shelf WHERE \(Self.keyMatch) RETURNING qty::text, hi::text, state", key.parameters,
                label: "soak shelf delete")
            return SoakOperation.Result(affected: deleted.affectedRows, row: deleted.rows.first)
        case .note(let key, let note):
            let changed = try connection.query(
                "UPDATE pos.shelf SET note = $4 WHERE \(Self.keyMatch)", key.parameters + [note], label: "soak shelf note")
            return SoakOperation.Result(affected: changed.affectedRows)
        case .count(let key, let units):
            try connection.query(
                "SELECT omnisync.record_count('pos.shelf', ARRAY[$1, $2, $3], 'qty', $4::numeric)",
                key.parameters + [scale.text(units: units)], label: "soak shelf count")
            return SoakOperation.Result(affected: 1)
        case .prepared(let key, let units, let seconds, let commit, let name):
            try connection.query("BEGIN", label: "soak shelf prepared begin")
            let changed: Int
            do {
                try connection.query("SET LOCAL omnisync.notify = off", label: "soak shelf prepared no notification")
                changed = try connection.query(
                    "UPDATE pos.shelf SET qty = qty + $4::numeric WHERE \(Self.keyMatch)", key.parameters + [scale.text(units: units)],
                    label: "soak shelf prepared delta"
                ).affectedRows
            } catch {
                _ = try? connection.query("ROLLBACK", label: "soak shelf prepared rollback")
                throw error
            }
            try connection.query("PREPARE TRANSACTION '\(name)'", label: "soak shelf prepare")
            usleep(UInt32(seconds * 1_000_000))
            try connection.query("\(commit ? "COMMIT" : "ROLLBACK") PREPARED '\(name)'", label: "soak shelf finish prepared")
            return SoakOperation.Result(affected: commit ? changed : 0)
        case .ticket(let number, let amount, _):
            let inserted = try connection.query(
                "INSERT INTO pos.ticket (ticket_no, amount, site) VALUES ($1, $2::bigint, $3)", [number, String(amount), site],
                label: "soak ticket")
            return SoakOperation.Result(affected: inserted.affectedRows)
        }
    }

    var shelfKey: ShelfKey? {
        switch self {
        case .upsert(let key, _, _, _, _, _), .sale(let key, _, _, _), .reprice(let key, _, _), .status(let key, _),
            .delete(let key), .note(let key, _), .count(let key, _), .prepared(let key, _, _, _, _):
            return key
        case .ticket:
            return nil
        }
    }

    var touchedRows: [String] {
        switch self {
        case .sale(let key, _, let ticket, _): return [key.tag, SoakDeclared.ticketTag(ticket)]
        case .ticket(let number, _, _): return [SoakDeclared.ticketTag(number)]
        default: return shelfKey.map { [$0.tag] } ?? []
        }
    }

    var description: String {
        let scale = SoakDeclared.scale
        func show(_ text: String?) -> String { text.map { String(reflecting: $0) } ?? "NULL" }
        switch self {
        case .upsert(let key, let units, let price, let hi, let status, _):
            return "shelf upsert \(key) qty\(units < 0 ? "" : "+")\(scale.text(units: units)) price=\(show(price)) "
                + "hi=\(hi.map(String.init) ?? "NULL") state if created=\(show(status))"
        case .sale(let key, let units, let ticket, let amount):
            return "shelf sale \(key) qty-\(scale.text(units: units)) ticket \(String(reflecting: ticket)) amount \(amount)"
        case .reprice(let key, let price, let hi): return "shelf reprice \(key) price=\(show(price)) hi=\(hi)"
        case .status(let key, let status): return "shelf state \(key) forward to \(status)"
        case .delete(let key): return "shelf delete \(key)"
        case .note(let key, let note): return "shelf local note \(key) = \(show(note))"
        case .count(let key, let units): return "shelf count \(key) qty = \(scale.text(units: units))"
        case .prepared(let key, let units, let seconds, let commit, let name):
            return "prepared transaction \(name) shelf \(key) qty\(units < 0 ? "" : "+")\(scale.text(units: units)), "
                + "\(commit ? "committed" : "rolled back") after \(String(format: "%.1f", seconds))s"
        case .ticket(let number, let amount, let shared):
            return "\(shared ? "shared " : "")ticket \(String(reflecting: number)) amount \(amount)"
        }
    }
}
