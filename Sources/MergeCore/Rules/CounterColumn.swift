/// `counter`: each write is a delta; every site's deltas add up. The column's state is each
/// site's cumulative contribution and the reset (physical count, or add-wins delete) that
/// applies, exactly as one column of `CounterRow`; the row's clock, which the row keeps for all
/// its columns, tells which of two contributions of a site is newer.
///
/// The value is `base + Σ (contribution[site] − observed[site])` of the reset (0 and nothing
/// observed without one), saturating.
///
/// `merging` is a join: per site the contribution with the greater clock entry (equal entries
/// carry equal contributions in real histories; corrupt ones fall back to the greater amount);
/// resets combine by the column's `ResetRule` — `latestWins` keeps the greater stamp and reports
/// disagreeing concurrent counts, `joined` joins them (add-wins deletes). A column never written
/// is neutral.
public struct CounterColumn: ColumnRule {
    public let resetRule: ResetRule
    /// Each site's cumulative contribution; absent means 0.
    public private(set) var contributions: [SiteName: Int64]
    public private(set) var reset: CounterReset?

    public init(resetRule: ResetRule, contributions: [SiteName: Int64] = [:], reset: CounterReset? = nil) {
        self.resetRule = resetRule
        self.contributions = contributions.filter { $0.value != 0 }
        self.reset = reset
    }

    public var value: Int64 {
        var total = reset?.base ?? 0
        let observed = reset?.observed ?? [:]
        for site in Set(contributions.keys).union(observed.keys).sorted() {
            total = total.saturatingAdd((contributions[site] ?? 0).saturatingSubtract(observed[site] ?? 0))
        }
        return total
    }

    public func contribution(of site: SiteName) -> Int64 { contributions[site] ?? 0 }

    /// A local write at `site` that changed the value by `delta` (the row ticks its clock). A
    /// contribution that would leave the `Int64` range is refused, as the trigger's `bigint`
    /// arithmetic refuses it: saturating here would make the value drift from what was written.
    public mutating func add(_ delta: Int64, at site: SiteName) -> LocalUpdate {
        if delta == 0 { return .unchanged }
        let (updated, overflow) = contribution(of: site).addingReportingOverflow(delta)
        if overflow { return .refused("the contribution of \(site) would leave the bigint range") }
        contributions[site] = updated == 0 ? nil : updated
        return .applied
    }

    /// A local reset to `base` as of everything the row has seen: `clock` is the row's clock after
    /// the reset's own tick, `stamp` is past the row's high-water mark.
    public mutating func reset(to base: Int64, stamp: HybridTimestamp, clock: VectorClock) {
        reset = CounterReset(stamp: stamp, base: base, clock: clock, observed: contributions)
    }

    public func merging(_ other: CounterColumn, sides: MergeSides) -> (state: CounterColumn, conflicts: [ResetConflict]) {
        precondition(resetRule == other.resetRule, "merging counters under different reset rules")
        var result = CounterColumn(resetRule: resetRule)
        let sites = Set(contributions.keys).union(other.contributions.keys)
            .union(sides.mine.entries.keys).union(sides.theirs.entries.keys)
        for site in sites {
            let mine = contribution(of: site), theirs = other.contribution(of: site)
            let chosen: Int64
            if sides.mine[site] != sides.theirs[site] {
                chosen = sides.mine[site] > sides.theirs[site] ? mine : theirs
            } else {
                chosen = Swift.max(mine, theirs)
            }
            if chosen != 0 { result.contributions[site] = chosen }
        }
        var conflicts: [ResetConflict] = []
        switch (reset, other.reset) {
        case (nil, nil):
            break
        case (let one?, nil), (nil, let one?):
            result.reset = one
        case (let a?, let b?) where resetRule == .joined:
            result.reset = CounterReset.joined(a, b)
        case (let a?, let b?):
            let winner = CounterReset.winner(a, b)
            result.reset = winner
            if a != b, a.clock.compare(b.clock) == .concurrent, a.base != b.base {
                conflicts.append(ResetConflict(column: 0, winner: winner, loser: winner == a ? b : a))
            }
        }
        return (result, conflicts)
    }
}
