import MergeCore
import TestSupport
import XCTest

/// Two resets of one column, as a merge combines them: under `latestWins` a choice by hybrid
/// timestamp, with a `ResetConflict` exactly for concurrent resets that disagree; under `joined`
/// a join of both, never a conflict. Either way a join.
final class CounterResetTests: XCTestCase {
    /// Distinct resets of column 0 from a random history, in the order they appeared: a Set's
    /// order changes between runs and would make the seed replay something else.
    private func resets(
        shape: CounterSimulation.Shape, rule: ResetRule, using rng: inout SeededGenerator
    ) -> [CounterReset] {
        // Drifting clocks and many resets make ties and concurrent resets common.
        let history = CounterSimulation.history(shape: shape, rule: rule, steps: 120, using: &rng)
        XCTAssertEqual(history.violations, [], "\(shape) \(rule) \(rng)")
        var resets: [CounterReset] = []
        var known: Set<CounterReset> = []
        for case let reset? in history.archive.map({ $0.row.resets[0] }) where known.insert(reset).inserted {
            resets.append(reset)
        }
        return resets
    }

    func testChoiceIsAJoinAndConflictsAreSymmetric() throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x0125_E7, defaultIterations: 40) {
            var rng = SeededGenerator(seed: seed)
            let resets = resets(shape: .stock, rule: .latestWins, using: &rng)
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

    /// Joined resets from cart deletes (base 0) and from counts (bases that differ, stamps that
    /// tie), so that every part of the join is exercised.
    func testJoinIsAJoinOfEveryPartAndNeverAConflict() throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x0125_E8, defaultIterations: 40) {
            var rng = SeededGenerator(seed: seed)
            let shape: CounterSimulation.Shape = Bool.random(using: &rng) ? .stock : .cart
            let resets = resets(shape: shape, rule: .joined, using: &rng)
            guard !resets.isEmpty else { continue }
            var holds = true
            for _ in 0..<40 where holds {
                let a = resets[Int.random(in: resets.indices, using: &rng)]
                let b = resets[Int.random(in: resets.indices, using: &rng)]
                let c = resets[Int.random(in: resets.indices, using: &rng)]
                let (ab, conflicts) = try choose(a, b, rule: .joined)
                let ba = try choose(b, a, rule: .joined)
                let abThenC = try choose(ab, c, rule: .joined).reset
                let aThenBC = try choose(a, try choose(b, c, rule: .joined).reset, rule: .joined).reset
                let aa = try choose(a, a, rule: .joined).reset
                let context = "\(shape) \(rng): a=\(a) b=\(b)"
                holds =
                    check(ab == ba.reset, "commutativity, \(context)")
                    && check(abThenC == aThenBC, "associativity, \(context) c=\(c)")
                    && check(aa == a, "idempotence, \(context)")
                    && check(conflicts.isEmpty && ba.conflicts.isEmpty, "joined resets conflicted, \(context)")
                if holds, let ab { holds = checkParts(of: ab, a, b, context) }
            }
            if !holds { break }
        }
    }

    /// The parts of `joined` as `CounterReset.joined` states them.
    private func checkParts(of joined: CounterReset, _ a: CounterReset, _ b: CounterReset, _ context: String) -> Bool {
        let later = a.stamp >= b.stamp ? a : b
        guard check(joined.clock == a.clock.merged(with: b.clock), "clock is not the maximum, \(context)")
            && check(joined.stamp == later.stamp, "stamp is not the greater, \(context)")
            && check(a.stamp == b.stamp || joined.base == later.base, "base is not the later one's, \(context)")
        else { return false }
        for site in Set(a.clock.entries.keys).union(b.clock.entries.keys).sorted() {
            let expected: Int64
            if a.clock[site] == b.clock[site] {
                // What real histories guarantee and the join relies on.
                guard check(
                    a.observed[site] == b.observed[site],
                    "equal clock entries for \(site) with different observations, \(context)")
                else { return false }
                expected = a.observed[site] ?? 0
            } else {
                expected = (a.clock[site] > b.clock[site] ? a : b).observed[site] ?? 0
            }
            guard check(
                (joined.observed[site] ?? 0) == expected,
                "observation of \(site) is not the one of the reset that saw more of it, \(context)")
            else { return false }
        }
        return true
    }

    /// Two rows that differ only in their reset of column 0, merged.
    private func choose(
        _ a: CounterReset?, _ b: CounterReset?, rule: ResetRule = .latestWins
    ) throws -> (reset: CounterReset?, conflicts: [ResetConflict]) {
        guard let a, let b else { return (a ?? b, []) }
        let (row, conflicts) = try onlyReset(a, rule: rule).merging(try onlyReset(b, rule: rule))
        return (row.resets[0], conflicts)
    }

    private func onlyReset(_ reset: CounterReset, rule: ResetRule) throws -> CounterRow {
        try CounterRow(
            columns: 2, clock: reset.clock, contributions: [:], resets: [reset, nil], highWater: reset.stamp.time,
            resetRule: rule)
    }

    func testObservedDropsZerosAndTotalsInSiteOrder() {
        let reset = CounterReset(
            stamp: HybridTimestamp(time: 5, site: "web"), base: 3, clock: VectorClock(["web": 1]),
            observed: ["web": 0, "store-1": 4, "store-2": -1])
        XCTAssertEqual(reset.observed, ["store-1": 4, "store-2": -1])
        XCTAssertEqual(reset.observedTotal, 3)
    }
}
