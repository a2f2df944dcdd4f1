import MergeCore
import TestSupport
import XCTest

/// The choice between two resets of one column, as a merge makes it: a join on the hybrid
/// timestamp, with a `ResetConflict` exactly for concurrent resets that disagree.
final class CounterResetTests: XCTestCase {
    func testChoiceIsAJoinAndConflictsAreSymmetric() throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x0125_E7, defaultIterations: 40) {
            var rng = SeededGenerator(seed: seed)
            // Drifting clocks and many counts make ties and concurrent counts common.
            let history = CounterSimulation.history(shape: .stock, steps: 120, using: &rng)
            // Distinct resets in the order they appeared: a Set's order changes between runs and
            // would make the seed replay something else.
            var resets: [CounterReset] = []
            var known: Set<CounterReset> = []
            for case let reset? in history.archive.map({ $0.row.resets[0] }) where known.insert(reset).inserted {
                resets.append(reset)
            }
            guard !resets.isEmpty else { continue }
            var holds = true
            for _ in 0..<40 where holds {
                let a = resets[Int.random(in: resets.indices, using: &rng)]
                let b = resets[Int.random(in: resets.indices, using: &rng)]
                let c = resets[Int.random(in: resets.indices, using: &rng)]
                let ab = try choose(a, b).reset
                let ba = try choose(b, a).reset
                let abThenC = try choose(ab, c).reset
                let aThenBC = try choose(a, try choose(b, c).reset).reset
                let aa = try choose(a, a)
                let context = "\(rng): a=\(a.stamp) b=\(b.stamp)"
                holds =
                    check(ab == (a.stamp >= b.stamp ? a : b), "the greater stamp must win, \(context)")
                    && check(ab == ba, "commutativity, \(context)")
                    && check(abThenC == aThenBC, "associativity, \(context) c=\(c.stamp)")
                    && check(aa.reset == a, "idempotence, \(context)")
                    && check(aa.conflicts.isEmpty, "a reset conflicts with itself, \(context)")
                if holds { holds = try checkConflicts(a, b, context) }
            }
            if !holds { break }
        }
    }

    private func checkConflicts(_ a: CounterReset, _ b: CounterReset, _ context: String) throws -> Bool {
        let forward = try choose(a, b).conflicts
        let backward = try choose(b, a).conflicts
        let expected = a.clock.compare(b.clock) == .concurrent && a.base != b.base ? 1 : 0
        let (winner, loser) = a.stamp > b.stamp ? (a, b) : (b, a)
        return check(forward == backward, "conflicts depend on who merges, \(context): \(forward) vs \(backward)")
            && check(forward.count == expected, "\(forward.count) conflicts, expected \(expected), \(context)")
            && check(
                forward.allSatisfy { $0.column == 0 && $0.winner == winner && $0.loser == loser },
                "conflict names the wrong winner, \(context)")
    }

    /// Two rows that differ only in their reset of column 0, merged.
    private func choose(
        _ a: CounterReset?, _ b: CounterReset?
    ) throws -> (reset: CounterReset?, conflicts: [ResetConflict]) {
        guard let a, let b else { return (a ?? b, []) }
        let (row, conflicts) = try onlyReset(a).merging(try onlyReset(b))
        return (row.resets[0], conflicts)
    }

    private func onlyReset(_ reset: CounterReset) throws -> CounterRow {
        try CounterRow(
            columns: 2, clock: reset.clock, contributions: [:], resets: [reset, nil], highWater: reset.stamp.time)
    }

    func testObservedDropsZerosAndTotalsInSiteOrder() {
        let reset = CounterReset(
            stamp: HybridTimestamp(time: 5, site: "web"), base: 3, clock: VectorClock(["web": 1]),
            observed: ["web": 0, "store-1": 4, "store-2": -1])
        XCTAssertEqual(reset.observed, ["store-1": 4, "store-2": -1])
        XCTAssertEqual(reset.observedTotal, 3)
    }
}
