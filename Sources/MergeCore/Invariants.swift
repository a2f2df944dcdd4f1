/// Kinds of conflicts the daemon records instead of deciding alone (CONTRACT §4).
public enum ConflictKind: String, Sendable, CaseIterable, Codable {
    case overReturn = "over_return"
    case oversell = "oversell"
    case concurrentCount = "concurrent_count"
    case duplicateKey = "duplicate_key"
    /// Two writes of a forward-only status, neither of which had seen the other.
    case concurrentStatus = "concurrent_status"
    /// Loyalty points below zero after merging (`retail.loyalty`'s check).
    case overRedeem = "over_redeem"
}

/// Cross-row invariants, checked after merging — never enforced across sites by constraints,
/// since a return may arrive before its order.
public enum Invariants {
    /// `on_hand - reserved < 0` after merging.
    public static func isOversold(onHand: Int64, reserved: Int64) -> Bool {
        onHand.saturatingSubtract(reserved) < 0
    }

    /// Returns of one order line, made in more than one place, that add up to more than was
    /// bought. Judged only once the order line is known (`bought` not nil).
    public static func isOverReturned(bought: Int64?, returns: [(quantity: Int64, site: SiteName)]) -> Bool {
        guard let bought else { return false }
        let places = Set(returns.map(\.site))
        let total = returns.reduce(Int64(0)) { $0.saturatingAdd($1.quantity) }
        return places.count > 1 && total > bought
    }
}
