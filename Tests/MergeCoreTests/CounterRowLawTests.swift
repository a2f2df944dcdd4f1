import MergeCore
import TestSupport
import XCTest

/// The laws of `CounterRow.merged(with:)` on states taken from realistic histories: sites making
/// local deltas and resets and merging each other's (sometimes stale) states at random. Arbitrary
/// dictionaries would not do: in real histories equal clock entries imply equal contributions.
///
/// Both reset rules on both shapes: stock counts are `latestWins` and cart deletes `joined` in
/// production, and the other pairings exercise each rule where the first never goes (joined
/// resets with non-zero bases and tied stamps; a losing delete).
final class CounterRowLawTests: XCTestCase {
    func testStockMergeIsAJoinAndMatchesTheModel() throws {
        try checkLaws(shape: .stock, rule: .latestWins, defaultSeed: 0x0057_0C4)
    }

    func testCartMergeWithJoinedDeletesIsAJoinAndMatchesTheModel() throws {
        try checkLaws(shape: .cart, rule: .joined, defaultSeed: 0x00CA_12D)
    }

    func testStockMergeWithJoinedCountsIsAJoinAndMatchesTheModel() throws {
        try checkLaws(shape: .stock, rule: .joined, defaultSeed: 0x0057_0C5)
    }

    func testCartMergeWithLatestDeleteWinningIsAJoinAndMatchesTheModel() throws {
        try checkLaws(shape: .cart, rule: .latestWins, defaultSeed: 0x00CA_127)
    }

    private func checkLaws(shape: CounterSimulation.Shape, rule: ResetRule, defaultSeed: UInt64) throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: defaultSeed, defaultIterations: 40) {
            var rng = SeededGenerator(seed: seed)
            let history = CounterSimulation.history(shape: shape, rule: rule, steps: 80, using: &rng)
            var holds = check(history.violations.isEmpty, "\(shape) \(rule) \(rng): \(history.violations)")
            for _ in 0..<30 where holds {
                let a = history.sample(using: &rng)
                let b = history.sample(using: &rng)
                let c = history.sample(using: &rng)
                holds = checkJoin(a.row, b.row, c.row, "\(shape) \(rule) \(rng)")
                    && checkAgainstModel(a, b, history, "\(shape) \(rule) \(rng)")
            }
            if !holds { break }
        }
    }

    private func checkJoin(_ a: CounterRow, _ b: CounterRow, _ c: CounterRow, _ context: String) -> Bool {
        let ab = a.merged(with: b)
        let empty = CounterRow(columns: a.columnCount, resetRule: a.resetRule)
        return check(ab == b.merged(with: a), "commutativity, \(context): a=\(a) b=\(b)")
            && check(
                ab.merged(with: c) == a.merged(with: b.merged(with: c)),
                "associativity, \(context): a=\(a) b=\(b) c=\(c)")
            && check(a.merged(with: a) == a, "idempotence, \(context): a=\(a)")
            && check(a.merged(with: empty) == a, "the empty row is not neutral, \(context): a=\(a)")
            && check(
                ab.clock.dominates(a.clock) && ab.clock.dominates(b.clock),
                "merging decreased a clock entry, \(context): a=\(a.clock) b=\(b.clock) merged=\(ab.clock)")
            && check(
                ab.highWater == max(a.highWater, b.highWater),
                "high-water mark \(ab.highWater) is not the greater of \(a.highWater) and \(b.highWater), \(context)")
    }

    private func checkAgainstModel(
        _ a: CounterSimulation.Snapshot, _ b: CounterSimulation.Snapshot, _ history: CounterSimulation,
        _ context: String
    ) -> Bool {
        let merged = a.row.merged(with: b.row)
        let seen = a.seen.union(b.seen)
        for column in 0..<merged.columnCount {
            let expected = history.model.value(column: column, seen: seen)
            guard check(
                merged.value(column: column) == expected,
                "value of column \(column) is \(merged.value(column: column)), model says \(expected), "
                    + "\(context): a=\(a.row) b=\(b.row)")
            else { return false }
        }
        guard history.shape == .cart else { return true }
        let present = history.model.isPresent(resetColumn: 0, seen: seen)
        return check(
            merged.isPresent(resetColumn: 0) == present,
            "presence is \(!present), model says \(present), \(context): a=\(a.row) b=\(b.row)")
    }
}
