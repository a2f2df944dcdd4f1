/// The replicated state of one row whose columns are counters (stock: `on_hand`, `reserved`;
/// cart item: `quantity`).
///
/// Each site only ever changes its own cumulative contribution, stamped with its own entry of the
/// row's vector clock, so a state ships whole and supersedes any earlier one:
///
/// `merged(with:)` is a join —
/// - commutative: `a ⊔ b == b ⊔ a`
/// - associative: `(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)`
/// - idempotent: `a ⊔ a == a`
///
/// Per site, the contribution with the greater clock entry wins (equal entries carry equal
/// contributions; corrupt equal-version pairs fall back to the lexicographically greater array).
/// Per column, two resets combine by the row's `resetRule`: under `.latestWins` the greater hybrid
/// timestamp wins (ties: greater site name); under `.joined` they are joined
/// (`CounterReset.joined`). Either way each part of the state is merged by a join, so the whole
/// is one. Delivery may therefore duplicate, reorder or skip intermediate states without
/// changing the outcome.
public struct CounterRow: Hashable, Sendable {
    public let columnCount: Int
    /// How two resets of a column combine. Fixed per table: rows under different rules never merge.
    public let resetRule: ResetRule
    public private(set) var clock: VectorClock
    /// Each site's cumulative contribution per column; absent means all zeros.
    public private(set) var contributions: [SiteName: [Int64]]
    /// Per column, the winning reset (`latestWins`) or the join of every reset seen (`joined`).
    public private(set) var resets: [CounterReset?]
    /// The greatest hybrid time this row has seen; new resets are stamped past it.
    public private(set) var highWater: Int64

    public init(columns: Int, resetRule: ResetRule = .latestWins) {
        precondition(columns > 0, "a counter row has at least one column")
        columnCount = columns
        self.resetRule = resetRule
        clock = VectorClock()
        contributions = [:]
        resets = Array(repeating: nil, count: columns)
        highWater = 0
    }

    /// Builds a state read from storage, checking that it is well formed.
    public init(
        columns: Int,
        clock: VectorClock,
        contributions: [SiteName: [Int64]],
        resets: [CounterReset?],
        highWater: Int64,
        resetRule: ResetRule = .latestWins
    ) throws(MergeCoreError) {
        guard columns > 0, resets.count == columns else {
            throw .malformed("expected \(columns) reset slots, found \(resets.count)")
        }
        for (site, values) in contributions {
            guard values.count == columns else {
                throw .malformed("contribution of site \(site) has \(values.count) values, expected \(columns)")
            }
            guard clock[site] > 0 || values.allSatisfy({ $0 == 0 }) else {
                throw .malformed("site \(site) has a contribution but no clock entry")
            }
        }
        for reset in resets.compactMap({ $0 }) {
            guard clock.dominates(reset.clock) else { throw .malformed("a reset has seen more than the row's clock") }
            // Otherwise the next local reset could be stamped before one it has seen, and lose to it.
            guard reset.stamp.time <= highWater else {
                throw .malformed("a reset is stamped \(reset.stamp), past the row's high-water mark \(highWater)")
            }
        }
        self.columnCount = columns
        self.resetRule = resetRule
        self.clock = clock
        self.contributions = contributions.filter { !$0.value.allSatisfy { $0 == 0 } }
        self.resets = resets
        self.highWater = highWater
    }

    // MARK: - Value

    /// The visible value of `column`: `base + Σ (contribution − observed)`, saturating.
    ///
    /// Each site's change since the reset is taken first, so the terms stay small even when the
    /// contributions themselves are huge: summing contributions and observations separately would
    /// saturate both and lose the base of a count that reset a saturated row.
    public func value(column: Int) -> Int64 {
        let reset = resets[column]
        var total = reset?.base ?? 0
        let observed = reset?.observed ?? [:]
        for site in Set(contributions.keys).union(observed.keys).sorted() {
            let change = (contributions[site]?[column] ?? 0).saturatingSubtract(observed[site] ?? 0)
            total = total.saturatingAdd(change)
        }
        return total
    }

    public var values: [Int64] { (0..<columnCount).map { value(column: $0) } }

    /// Add-wins presence for rows that can be deleted (cart items): the row exists while some
    /// change is not covered by the reset of `column` — under `.joined`, neither a delete nor
    /// seen by any delete.
    public func isPresent(resetColumn column: Int) -> Bool {
        guard let reset = resets[column] else { return !clock.isEmpty }
        return clock != reset.clock && !reset.clock.dominates(clock)
    }

    public func contribution(of site: SiteName) -> [Int64] {
        contributions[site] ?? Array(repeating: 0, count: columnCount)
    }

    // MARK: - Local changes (what the capture triggers do in SQL; used by simulations and tests)

    /// A local INSERT or UPDATE at `site` that changed the visible values by `deltas`, as the
    /// capture trigger takes it: an UPDATE that changes no value is no event; a contribution that
    /// would leave the `bigint` range is refused (the trigger's arithmetic raises), where
    /// `applyLocalDelta` saturates.
    public mutating func applyLocalWrite(site: SiteName, deltas: [Int64], isInsert: Bool) -> LocalUpdate {
        precondition(deltas.count == columnCount)
        if !isInsert, deltas.allSatisfy({ $0 == 0 }) { return .unchanged }
        for (current, delta) in zip(contribution(of: site), deltas) where current.addingReportingOverflow(delta).overflow {
            return .refused("the contribution of \(site) would leave the bigint range")
        }
        applyLocalDelta(site: site, deltas: deltas)
        return .applied
    }

    /// A local write at `site` that changed the visible values by `deltas`.
    public mutating func applyLocalDelta(site: SiteName, deltas: [Int64]) {
        precondition(deltas.count == columnCount)
        clock.tick(site)
        let current = contribution(of: site)
        let updated = zip(current, deltas).map { $0.saturatingAdd($1) }
        contributions[site] = updated.allSatisfy { $0 == 0 } ? nil : updated
    }

    /// A local reset at `site` setting `column` to `value` as of everything `site` has seen.
    ///
    /// It replaces the column's reset under either rule. Under `.joined` replacing equals joining:
    /// the new reset's clock dominates the old one's (the row's clock does), so for every site it
    /// observes at least as many changes, and its stamp is past the high-water mark, so it gives
    /// the base.
    public mutating func applyLocalReset(site: SiteName, column: Int, value: Int64, wallClock: Int64) {
        clock.tick(site)
        let stamp = HybridTimestamp.next(wallClock: wallClock, highWater: highWater, site: site)
        var observed: [SiteName: Int64] = [:]
        for (contributor, values) in contributions { observed[contributor] = values[column] }
        resets[column] = CounterReset(stamp: stamp, base: value, clock: clock, observed: observed)
        highWater = stamp.time
    }

    // MARK: - Merge

    /// The join of two states (see the type's documentation for the laws).
    public func merged(with other: CounterRow) -> CounterRow {
        merging(other).row
    }

    /// The join, plus the concurrent disagreeing resets it had to decide between (never any
    /// under `.joined`, where both take effect).
    public func merging(_ other: CounterRow) -> (row: CounterRow, conflicts: [ResetConflict]) {
        precondition(columnCount == other.columnCount, "merging rows of different shapes")
        precondition(resetRule == other.resetRule, "merging rows under different reset rules")
        var result = CounterRow(columns: columnCount, resetRule: resetRule)
        result.clock = clock.merged(with: other.clock)
        result.highWater = Swift.max(highWater, other.highWater)

        for site in Set(contributions.keys).union(other.contributions.keys)
            .union(clock.entries.keys).union(other.clock.entries.keys)
        {
            let mine = contribution(of: site)
            let theirs = other.contribution(of: site)
            let chosen: [Int64]
            if clock[site] != other.clock[site] {
                chosen = clock[site] > other.clock[site] ? mine : theirs
            } else {
                chosen = mine.lexicographicallyPrecedes(theirs) ? theirs : mine
            }
            if !chosen.allSatisfy({ $0 == 0 }) { result.contributions[site] = chosen }
        }

        var conflicts: [ResetConflict] = []
        for column in 0..<columnCount {
            switch (resets[column], other.resets[column]) {
            case (nil, nil):
                result.resets[column] = nil
            case (let one?, nil), (nil, let one?):
                result.resets[column] = one
            case (let a?, let b?) where resetRule == .joined:
                result.resets[column] = CounterReset.joined(a, b)
            case (let a?, let b?):
                let winner = CounterReset.winner(a, b)
                result.resets[column] = winner
                if a != b, a.clock.compare(b.clock) == .concurrent, a.base != b.base {
                    conflicts.append(ResetConflict(column: column, winner: winner, loser: winner == a ? b : a))
                }
            }
        }
        return (result, conflicts)
    }
}
