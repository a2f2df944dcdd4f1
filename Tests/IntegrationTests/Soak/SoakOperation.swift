import Foundation
import Postgres
import SyncEngine

/// One thing an application does to a site in the soak, as the SQL a till or the web shop would
/// run. Every operation is one transaction; `execute` returns only once it has committed.
enum SoakOperation: Sendable, CustomStringConvertible {
    struct Line: Sendable {
        let sku: String
        let quantity: Int64
    }

    /// A sale (`onHand` < 0), a reservation or its release (`reserved`), as a delta on an existing row.
    case stockDelta(key: RowKey, onHand: Int64, reserved: Int64)
    /// One delta to every ordinary item at a location, in one statement (a stock adjustment).
    case bulkDelta(location: String, onHand: Int64, rows: Int)
    /// Goods received: creates the row if this site has none yet (two sites may create it at once).
    case receipt(key: RowKey, quantity: Int64)
    /// A sale of a scarce item, made only if this site sees enough stock.
    case scarceSale(key: RowKey, quantity: Int64)
    /// An item put into or taken out of a cart, as a delta.
    case cartChange(key: RowKey, delta: Int64)
    case cartDelete(key: RowKey)
    /// An order placed at `location`, with its lines and the stock they take.
    case order(id: String, customer: String, placedAt: Int64, lines: [Line], location: String)
    /// A return at `location` of part of an order line, putting the goods back into its stock.
    case returnItem(id: String, orderID: String, lineNo: Int, sku: String, quantity: Int64, location: String, returnedAt: Int64)
    /// A physical count.
    case count(key: RowKey, counted: Int64)
    /// Loyalty points given to a customer (a seed), creating the balance if this site has none.
    case pointsOpened(customer: String, points: Int64)
    /// Points earned (> 0) or redeemed (< 0) in `retail.loyalty`, a generated table.
    case pointsDelta(customer: String, delta: Int64)
    /// A till follows a customer, or stops (`omnisync.follow`; routed runs route `retail.loyalty`
    /// by `follow customer customer_id`). Affects 1 row when it changed what the site follows.
    /// `omnisync.follow` (or `unfollow`) of a customer or a cart at a till.
    case follow(namespace: String, value: String, on: Bool)
    /// A stock delta in a transaction held open for `seconds` before it commits.
    case held(key: RowKey, onHand: Int64, seconds: Double)
    /// A stock delta in a two-phase transaction (XA): sent with `omnisync.notify = off`, prepared,
    /// and `seconds` later committed or rolled back (`COMMIT PREPARED` / `ROLLBACK PREPARED`).
    case prepared(key: RowKey, onHand: Int64, seconds: Double, commit: Bool, name: String)
    /// Work on the application's own declared tables.
    case declared(SoakDeclaredOperation)

    /// What a committed operation did: rows it changed, a cart delete's removed quantity, whether
    /// an upsert inserted its row, and the row a declared delete returned.
    struct Result: Sendable {
        var affected = 0
        var removed: Int64?
        var inserted = false
        var row: [String?]?
    }

    /// The operation could not do what the workload meant (a row missing at this site); it was
    /// rolled back.
    struct Unexpected: Error, CustomStringConvertible {
        let description: String
    }

    func execute(_ connection: PostgresConnection, site: String) throws -> Result {
        switch self {
        case .declared(let operation):
            return try operation.execute(connection, site: site)
        case .stockDelta(let key, let onHand, let reserved):
            let changed = try connection.query(
                "UPDATE retail.stock SET on_hand = on_hand + $3::bigint, reserved = reserved + $4::bigint WHERE sku = $1 AND location = $2",
                [key.k1, key.k2, String(onHand), String(reserved)], label: "soak stock delta")
            return Result(affected: changed.affectedRows)
        case .bulkDelta(let location, let onHand, _):
            let changed = try connection.query(
                """
                UPDATE retail.stock SET on_hand = on_hand + $2::bigint
                WHERE location = $1 AND sku NOT LIKE 'new-%' AND sku NOT LIKE 'scarce-%'
                """, [location, String(onHand)], label: "soak bulk delta")
            return Result(affected: changed.affectedRows)
        case .pointsOpened(let customer, let points):
            let changed = try connection.query(
                """
                INSERT INTO retail.loyalty AS l (customer_id, points) VALUES ($1, $2::bigint)
                ON CONFLICT (customer_id) DO UPDATE SET points = l.points + excluded.points
                """, [customer, String(points)], label: "soak points opened")
            return Result(affected: changed.affectedRows)
        case .follow(let namespace, let value, let on):
            let changed = try connection.query(
                "SELECT omnisync.\(on ? "follow" : "unfollow")($1, $2)::text", [namespace, value], label: "soak follow")
            return Result(affected: changed.rows.first?[0] == "true" ? 1 : 0)
        case .pointsDelta(let customer, let delta):
            let changed = try connection.query(
                "UPDATE retail.loyalty SET points = points + $2::bigint WHERE customer_id = $1",
                [customer, String(delta)], label: "soak points")
            return Result(affected: changed.affectedRows)
        case .receipt(let key, let quantity):
            let changed = try connection.query(
                """
                INSERT INTO retail.stock AS s (sku, location, on_hand, reserved) VALUES ($1, $2, $3::bigint, 0)
                ON CONFLICT (sku, location) DO UPDATE SET on_hand = s.on_hand + excluded.on_hand
                """, [key.k1, key.k2, String(quantity)], label: "soak receipt")
            return Result(affected: changed.affectedRows)
        case .scarceSale(let key, let quantity):
            let changed = try connection.query(
                """
                UPDATE retail.stock SET on_hand = on_hand - $3::bigint
                WHERE sku = $1 AND location = $2 AND on_hand - reserved >= $3::bigint
                """, [key.k1, key.k2, String(quantity)], label: "soak scarce sale")
            return Result(affected: changed.affectedRows)
        case .cartChange(let key, let delta):
            let changed = try connection.query(
                """
                INSERT INTO retail.cart_items AS c (cart_id, sku, quantity) VALUES ($1, $2, $3::bigint)
                ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = c.quantity + excluded.quantity
                """, [key.k1, key.k2, String(delta)], label: "soak cart change")
            return Result(affected: changed.affectedRows)
        case .cartDelete(let key):
            let deleted = try connection.query(
                "DELETE FROM retail.cart_items WHERE cart_id = $1 AND sku = $2 RETURNING quantity::text", [key.k1, key.k2],
                label: "soak cart delete")
            return Result(affected: deleted.affectedRows, removed: deleted.rows.first.flatMap { $0[0] }.flatMap { Int64($0) })
        case .order(let id, let customer, let placedAt, let lines, let location):
            let missing = try connection.transaction(label: "soak order") { transaction throws(PostgresError) -> String? in
                try transaction.query(
                    "INSERT INTO retail.orders VALUES ($1, $2, $3, to_timestamp($4::bigint))",
                    [id, customer, location, String(placedAt)], label: "soak order row")
                for (index, line) in lines.enumerated() {
                    try transaction.query(
                        "INSERT INTO retail.order_lines VALUES ($1, $2::int, $3, $4::bigint)",
                        [id, String(index + 1), line.sku, String(line.quantity)], label: "soak order line")
                }
                for line in lines {
                    if let missing = try Self.moveStock(transaction, sku: line.sku, location: location, by: -line.quantity) {
                        try transaction.rollback()
                        return missing
                    }
                }
                return nil
            }
            if let missing { throw Unexpected(description: missing) }
            return Result(affected: 1)
        case .returnItem(let id, let orderID, let lineNo, let sku, let quantity, let location, let returnedAt):
            let missing = try connection.transaction(label: "soak return") { transaction throws(PostgresError) -> String? in
                try transaction.query(
                    "INSERT INTO retail.returns VALUES ($1, $2, $3::int, $4::bigint, $5, to_timestamp($6::bigint))",
                    [id, orderID, String(lineNo), String(quantity), location, String(returnedAt)], label: "soak return row")
                if let missing = try Self.moveStock(transaction, sku: sku, location: location, by: quantity) {
                    try transaction.rollback()
                    return missing
                }
                return nil
            }
            if let missing { throw Unexpected(description: missing) }
            return Result(affected: 1)
        case .count(let key, let counted):
            try connection.query(
                "SELECT retail.record_count($1, $2, $3::bigint)", [key.k1, key.k2, String(counted)], label: "soak count")
            return Result(affected: 1)
        case .held(let key, let onHand, let seconds):
            let held = try connection.transaction(label: "soak held transaction") { transaction throws(PostgresError) -> Result? in
                let changed = try transaction.query(
                    "UPDATE retail.stock SET on_hand = on_hand + $3::bigint WHERE sku = $1 AND location = $2",
                    [key.k1, key.k2, String(onHand)], label: "soak held delta")
                guard changed.affectedRows == 1 else {
                    try transaction.rollback()
                    return nil
                }
                usleep(UInt32(seconds * 1_000_000))
                return Result(affected: 1)
            }
            guard let held else { throw Unexpected(description: "no row \(key) at this site for a held transaction") }
            return held
        case .prepared(let key, let onHand, let seconds, let commit, let name):
            try connection.query("BEGIN", label: "soak prepared begin")
            do {
                try connection.query("SET LOCAL omnisync.notify = off", label: "soak prepared no notification")
                let changed = try connection.query(
                    "UPDATE retail.stock SET on_hand = on_hand + $3::bigint WHERE sku = $1 AND location = $2",
                    [key.k1, key.k2, String(onHand)], label: "soak prepared delta")
                guard changed.affectedRows == 1 else {
                    throw Unexpected(description: "no row \(key) at this site for a prepared transaction")
                }
            } catch {
                _ = try? connection.query("ROLLBACK", label: "soak prepared rollback")
                throw error
            }
            try connection.query("PREPARE TRANSACTION '\(name)'", label: "soak prepare")
            usleep(UInt32(seconds * 1_000_000))
            try connection.query("\(commit ? "COMMIT" : "ROLLBACK") PREPARED '\(name)'", label: "soak finish prepared")
            return Result(affected: commit ? 1 : 0)
        }
    }

    /// Moves stock; returns why it could not (the row is missing at this site), if it could not.
    private static func moveStock(
        _ connection: some StatementRunner, sku: String, location: String, by delta: Int64
    ) throws(PostgresError) -> String? {
        let changed = try connection.query(
            "UPDATE retail.stock SET on_hand = on_hand + $3::bigint WHERE sku = $1 AND location = $2",
            [sku, location, String(delta)], label: "soak stock movement")
        return changed.affectedRows == 1 ? nil : "no stock row \(sku)/\(location) at this site"
    }

    /// The rows the operation touches, as `table|key` (to pick a failing key's history out of the log).
    var touchedRows: [String] {
        switch self {
        case .stockDelta(let key, _, _), .receipt(let key, _), .scarceSale(let key, _), .count(let key, _),
            .held(let key, _, _), .prepared(let key, _, _, _, _):
            return [Self.tag(.stock, key)]
        case .cartChange(let key, _), .cartDelete(let key):
            return [Self.tag(.cartItems, key)]
        case .bulkDelta(let location, _, _):
            return ["stock|location=\(location)"]
        case .pointsOpened(let customer, _), .pointsDelta(let customer, _), .follow("customer", let customer, _):
            return [Self.loyaltyTag(customer)]
        case .follow(let namespace, let value, _):
            return ["\(namespace)|\(value)"]
        case .order(let id, _, _, let lines, let location):
            return [Self.tag(.orders, RowKey(id))]
                + lines.enumerated().map { Self.tag(.orderLines, RowKey(id, String($0.offset + 1))) }
                + lines.map { Self.tag(.stock, RowKey($0.sku, location)) }
        case .returnItem(let id, let orderID, let lineNo, let sku, _, let location, _):
            return [
                Self.tag(.returns, RowKey(id)), Self.tag(.orderLines, RowKey(orderID, String(lineNo))),
                Self.tag(.stock, RowKey(sku, location)),
            ]
        case .declared(let operation):
            return operation.touchedRows
        }
    }

    static func tag(_ table: ReplicatedTable, _ key: RowKey) -> String {
        "\(table.name)|\(key.json(for: table))"
    }

    static func loyaltyTag(_ customer: String) -> String {
        "loyalty|{\"customer_id\": \(String(reflecting: customer))}"
    }

    var description: String {
        func show(_ key: RowKey) -> String { key.json(for: .stock) }
        switch self {
        case .stockDelta(let key, let onHand, let reserved):
            return "stock delta \(show(key)) on_hand\(signed(onHand)) reserved\(signed(reserved))"
        case .bulkDelta(let location, let onHand, _): return "bulk delta at location \(location) on_hand\(signed(onHand))"
        case .receipt(let key, let quantity): return "receipt \(show(key)) +\(quantity)"
        case .scarceSale(let key, let quantity): return "scarce sale \(show(key)) -\(quantity) if available"
        case .cartChange(let key, let delta): return "cart change \(key.json(for: .cartItems)) \(signed(delta))"
        case .cartDelete(let key): return "cart delete \(key.json(for: .cartItems))"
        case .order(let id, _, _, let lines, let location):
            return "order \(String(reflecting: id)) at \(location): " + lines.map { "\(String(reflecting: $0.sku))x\($0.quantity)" }.joined(separator: " ")
        case .returnItem(let id, let orderID, let lineNo, _, let quantity, let location, _):
            return "return \(String(reflecting: id)) of \(String(reflecting: orderID)) line \(lineNo) x\(quantity) at \(location)"
        case .count(let key, let counted): return "count \(show(key)) = \(counted)"
        case .pointsOpened(let customer, let points): return "points opened \(String(reflecting: customer)) +\(points)"
        case .pointsDelta(let customer, let delta): return "points \(String(reflecting: customer)) \(signed(delta))"
        case .follow(let namespace, let value, let on):
            return "\(on ? "follow" : "unfollow") \(namespace) \(String(reflecting: value))"
        case .held(let key, let onHand, let seconds):
            return "held transaction \(show(key)) on_hand\(signed(onHand)) for \(String(format: "%.1f", seconds))s"
        case .prepared(let key, let onHand, let seconds, let commit, let name):
            return "prepared transaction \(name) \(show(key)) on_hand\(signed(onHand)), \(commit ? "committed" : "rolled back") after \(String(format: "%.1f", seconds))s"
        case .declared(let operation): return operation.description
        }
    }

    private func signed(_ value: Int64) -> String { value < 0 ? "\(value)" : "+\(value)" }
}
