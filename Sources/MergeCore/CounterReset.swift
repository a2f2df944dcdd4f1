/// A reset of one counter column: a physical stock count (`on_hand`) or a cart `DELETE`
/// (`quantity` back to 0). The column's value after it is
/// `base + Σ contribution[site] − Σ observed[site]`: changes the reset had seen are replaced by
/// `base`, changes it could not have seen still apply on top.
///
/// Under `ResetRule.joined` one value stands for several resets joined together: their clocks
/// and observations combined, the stamp and base of the latest.
public struct CounterReset: Hashable, Sendable {
    /// Orders resets: the later one wins (`latestWins`) or gives the base (`joined`) at every
    /// site; ties: the greater site name.
    public let stamp: HybridTimestamp
    public let base: Int64
    /// The row's clock when the reset was made, including the reset's own tick (joined: the
    /// pointwise maximum over the joined resets).
    public let clock: VectorClock
    /// Each site's cumulative contribution to this column that the reset had seen (absent: 0).
    /// It is the site's contribution after the first `clock[site]` of its changes.
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

    /// Two resets that both take effect (`ResetRule.joined`), as one:
    /// - clock: the pointwise maximum;
    /// - observed, per site: the observation of the reset with the greater clock entry for that
    ///   site, which had seen more of that site's changes and hence all that the other had seen
    ///   (equal entries carry equal observations; corrupt unequal ones: the greater value);
    /// - stamp and base: those of the greater stamp (equal stamps from corrupt input: the greater
    ///   base).
    /// Each part is the maximum of a total order (per site: clock entry, then observation), so
    /// this is a join: commutative, associative, idempotent.
    static func joined(_ a: CounterReset, _ b: CounterReset) -> CounterReset {
        var observed: [SiteName: Int64] = [:]
        let sites = Set(a.clock.entries.keys).union(b.clock.entries.keys)
            .union(a.observed.keys).union(b.observed.keys)
        for site in sites {
            let mine = (a.clock[site], a.observed[site] ?? 0)
            let theirs = (b.clock[site], b.observed[site] ?? 0)
            observed[site] = mine < theirs ? theirs.1 : mine.1
        }
        let later = a.stamp != b.stamp ? (a.stamp > b.stamp ? a : b) : (a.base >= b.base ? a : b)
        return CounterReset(
            stamp: later.stamp, base: later.base, clock: a.clock.merged(with: b.clock), observed: observed)
    }

    private var tieBreakKey: String {
        let observedText = observed.keys.sorted().map { "\($0)=\(observed[$0] ?? 0)" }.joined(separator: ",")
        return "\(base)|\(clock)|\(observedText)"
    }
}

/// Two resets of the same column that did not see each other and disagree on the base, under
/// `ResetRule.latestWins`. The merge still picks one deterministic winner; the conflict is
/// recorded for a person.
public struct ResetConflict: Hashable, Sendable {
    public let column: Int
    public let winner: CounterReset
    public let loser: CounterReset
}
