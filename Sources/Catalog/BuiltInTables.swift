/// The retail tables that `omnisync migrate` installs (CONTRACT §4 and §7), described as specs
/// like any declared table. Their rules are fixed; a `[table retail.X]` section may only set the
/// route and add checks.
///
/// Conflicts that belong to a rule are not checks here: `concurrent_count` (counter resets),
/// `concurrent_status` (status), `duplicate_key` (insert-only rows). `over_return` spans two tables
/// (returns against order lines) and is the one invariant kept outside the catalog.
public enum BuiltInTables {
    /// The schema of the built-in tables; no other table may be declared in it.
    public static let schema = "retail"

    public static let stock = TableSpec(
        id: TableID(1), name: name("stock"),
        key: [.init(id("sku"), .text), .init(id("location"), .text)],
        rows: .mutable(delete: .refuse),
        columns: [.init(id("on_hand"), .bigint, rule: .counter), .init(id("reserved"), .bigint, rule: .counter)],
        checks: [.init(kind: "oversell", expression: "on_hand - reserved >= 0")],
        route: .all,
        countFunction: .init(function: name("record_count"), column: id("on_hand")),
        isBuiltIn: true, line: nil)

    public static let cartItems = TableSpec(
        id: TableID(2), name: name("cart_items"),
        key: [.init(id("cart_id"), .text), .init(id("sku"), .text)],
        rows: .mutable(delete: .addWins),
        columns: [.init(id("quantity"), .bigint, rule: .counter)],
        checks: [], route: .all, isBuiltIn: true, line: nil)

    public static let orders = TableSpec(
        id: TableID(3), name: name("orders"),
        key: [.init(id("order_id"), .text)],
        rows: .insertOnly,
        columns: [
            .init(id("customer_id"), .text, rule: nil), .init(id("channel"), .text, rule: nil),
            .init(id("placed_at"), .timestamptz, rule: nil),
        ],
        checks: [], route: .all, isBuiltIn: true, line: nil)

    public static let orderLines = TableSpec(
        id: TableID(4), name: name("order_lines"),
        key: [.init(id("order_id"), .text), .init(id("line_no"), .integer)],
        rows: .insertOnly,
        columns: [.init(id("sku"), .text, rule: nil), .init(id("quantity"), .bigint, rule: nil)],
        checks: [], route: .all, isBuiltIn: true, line: nil)

    public static let returns = TableSpec(
        id: TableID(5), name: name("returns"),
        key: [.init(id("return_id"), .text)],
        rows: .insertOnly,
        columns: [
            .init(id("order_id"), .text, rule: nil), .init(id("line_no"), .integer, rule: nil),
            .init(id("quantity"), .bigint, rule: nil), .init(id("location"), .text, rule: nil),
            .init(id("returned_at"), .timestamptz, rule: nil),
        ],
        checks: [], route: .all, isBuiltIn: true, line: nil)

    public static let customers = TableSpec(
        id: TableID(6), name: name("customers"),
        key: [.init(id("customer_id"), .text)],
        rows: .mutable(delete: .refuse),
        columns: ["name", "email", "phone", "language", "home_location"].map { .init(id($0), .text, rule: .lww) },
        checks: [], route: .all, isBuiltIn: true, line: nil)

    public static let loyalty = TableSpec(
        id: TableID(7), name: name("loyalty"),
        key: [.init(id("customer_id"), .text)],
        rows: .mutable(delete: .refuse),
        columns: [.init(id("points"), .bigint, rule: .counter)],
        checks: [.init(kind: "over_redeem", expression: "points >= 0")],
        route: .all, isBuiltIn: true, line: nil)

    /// The click-and-collect statuses, in the only order an order moves through them.
    public static let orderStatuses = ["placed", "paid", "ready", "cancelled", "collected"]

    public static let orderStatus = TableSpec(
        id: TableID(8), name: name("order_status"),
        key: [.init(id("order_id"), .text)],
        rows: .mutable(delete: .refuse),
        columns: [.init(id("status"), .text, rule: .status(orderStatuses)), .init(id("location"), .text, rule: .lww)],
        checks: [], route: .all, isBuiltIn: true, line: nil)

    /// Every built-in table, by id.
    public static let all: [TableSpec] = [
        stock, cartItems, orders, orderLines, returns, customers, loyalty, orderStatus,
    ]

    public static func spec(named name: QualifiedName) -> TableSpec? {
        all.first { $0.name == name }
    }

    private static func id(_ name: String) -> SQLIdentifier { SQLIdentifier(unchecked: name) }
    private static func name(_ table: String) -> QualifiedName {
        QualifiedName(schema: id(schema), name: id(table))
    }
}
