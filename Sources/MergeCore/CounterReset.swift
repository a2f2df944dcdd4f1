/// A reset of one counter column: a physical stock count (`on_hand`) or a cart `DELETE`
/// (`quantity` back to 0). The column's value after it is
/// `base + Σ contribution[site] − Σ observed[site]`: changes the reset had seen are replaced by
/// `base`, changes it could not have seen still apply on top.
public struct CounterReset: Hashable, Sendable {
    /// Orders resets: the later one wins at every site (ties: the greater site name).
    public let stamp: HybridTimestamp
    public let base: Int64
    /// The row's clock when the reset was made, including the reset's own tick.
    public let clock: VectorClock
    /// Each site's cumulative contribution to this column that the reset had seen (absent: 0).
    public let observed: [SiteName: Int64]

    public init(stamp: HybridTimestamp, base: Int64, clock: VectorClock, observed: [SiteName: Int64]) {
        self.stamp = stamp
        self.base = base
        self.clock = clock
        self.observed = observed.filter { $0.value != 0 }
    }

    /// Σ observed, in a fixed site order so that saturation is deterministic.
    public var observedTotal: Int64 {
        observed.keys.sorted().reduce(Int64(0)) { $0.saturatingAdd(observed[$1] ?? 0) }
    }

    /// The deterministic winner of two resets: the greater stamp. Equal stamps from different
    /// contents only arise from corrupt input; they are still ordered, so the merge stays a join.
    static func winner(_ a: CounterReset, _ b: CounterReset) -> CounterReset {
        if a.stamp != b.stamp { return a.stamp > b.stamp ? a : b }
        return a.tieBreakKey >= b.tieBreakKey ? a : b
    }

    private var tieBreakKey: String {
        let observedText = observed.keys.sorted().map { "\($0)=\(observed[$0] ?? 0)" }.joined(separator: ",")
        return "\(base)|\(clock)|\(observedText)"
    }
}

/// Two resets of the same column that did not see each other and disagree on the base.
/// The merge still picks one deterministic winner; the conflict is recorded for a person.
public struct ResetConflict: Hashable, Sendable {
    public let column: Int
    public let winner: CounterReset
    public let loser: CounterReset
}
