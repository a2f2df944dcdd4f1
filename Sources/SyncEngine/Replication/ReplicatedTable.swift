/// The contract's replicated tables, with the numbers the capture triggers write into
/// `omnisync.outbox.table_id` (schema/0003_capture.sql).
public enum ReplicatedTable: Int, CaseIterable, Sendable, Comparable {
    case stock = 1
    case cartItems = 2
    case orders = 3
    case orderLines = 4
    case returns = 5

    /// The table's name in the `retail` schema.
    public var name: String {
        switch self {
        case .stock: return "stock"
        case .cartItems: return "cart_items"
        case .orders: return "orders"
        case .orderLines: return "order_lines"
        case .returns: return "returns"
        }
    }

    /// The primary key columns, as the outbox stores them in k1 and k2.
    public var keyColumns: [String] {
        switch self {
        case .stock: return ["sku", "location"]
        case .cartItems: return ["cart_id", "sku"]
        case .orders: return ["order_id"]
        case .orderLines: return ["order_id", "line_no"]
        case .returns: return ["return_id"]
        }
    }

    public var isCounter: Bool { self == .stock || self == .cartItems }

    public static func < (lhs: ReplicatedTable, rhs: ReplicatedTable) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// A replicated row's primary key as text: `k2` is nil for single-column keys.
public struct RowKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let k1: String
    public let k2: String?

    public init(_ k1: String, _ k2: String? = nil) {
        self.k1 = k1
        self.k2 = k2
    }

    /// The value of key column `index` (0 or 1) of a row of one of v1's tables.
    func part(_ index: Int) -> String? { index == 0 ? k1 : k2 }

    public static func < (lhs: RowKey, rhs: RowKey) -> Bool {
        let l1 = Array(lhs.k1.utf8), r1 = Array(rhs.k1.utf8)
        if l1 != r1 { return l1.lexicographicallyPrecedes(r1) }
        return Array((lhs.k2 ?? "").utf8).lexicographicallyPrecedes(Array((rhs.k2 ?? "").utf8))
    }

    public var description: String {
        k2.map { "\(k1)/\($0)" } ?? k1
    }

    /// The key as a JSON object naming the table's key columns (conflict records, verify output).
    public func json(for table: ReplicatedTable) -> String {
        let columns = table.keyColumns
        var parts = ["\(JSONText.quote(columns[0])):\(JSONText.quote(k1))"]
        if columns.count > 1, let k2 { parts.append("\(JSONText.quote(columns[1])):\(JSONText.quote(k2))") }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
