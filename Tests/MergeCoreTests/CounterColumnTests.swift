import MergeCore
import TestSupport
import XCTest

/// `CounterColumn` is one column of v1's `CounterRow`, with the row's clock passed in: on the
/// counter simulations' histories, merging a column alone gives that column of the merged row.
final class CounterColumnTests: XCTestCase {
    func testEachColumnMergesAsTheCounterRowDoes() throws {
        for (shape, rule) in [(CounterSimulation.Shape.stock, ResetRule.latestWins), (.cart, .joined), (.stock, .joined)] {
            for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x0C01_0C01, defaultIterations: 30) {
                var rng = SeededGenerator(seed: seed)
                let history = CounterSimulation.history(shape: shape, rule: rule, steps: 80, using: &rng)
                for _ in 0..<20 {
                    let a = history.sample(using: &rng).row, b = history.sample(using: &rng).row
                    let (row, rowConflicts) = a.merging(b)
                    for column in 0..<a.columnCount {
                        let (merged, conflicts) = Self.column(column, of: a).merging(
                            Self.column(column, of: b), sides: MergeSides(mine: a.clock, theirs: b.clock))
                        guard check(merged == Self.column(column, of: row), "\(shape) \(rule) \(rng) column \(column)"),
                            check(
                                conflicts.map(\.winner) == rowConflicts.filter { $0.column == column }.map(\.winner),
                                "conflicts differ, \(shape) \(rule) \(rng)")
                        else { return }
                        XCTAssertEqual(merged.value, row.value(column: column))
                    }
                }
            }
        }
    }

    func testADeltaOfZeroChangesNothingAndACountObservesTheContributions() {
        var counter = CounterColumn(resetRule: .latestWins)
        XCTAssertEqual(counter.add(0, at: "web"), .unchanged)
        XCTAssertEqual(counter.add(5, at: "web"), .applied)
        XCTAssertEqual(counter.add(-2, at: "store-1"), .applied)
        XCTAssertEqual(counter.value, 3)
        let clock = VectorClock(["web": 1, "store-1": 2])
        counter.reset(to: 10, stamp: HybridTimestamp(time: 7, site: "store-1"), clock: clock)
        XCTAssertEqual(counter.value, 10)
        XCTAssertEqual(counter.add(-1, at: "web"), .applied)
        XCTAssertEqual(counter.value, 9, "a sale after the count applies on top of it")
    }

    private static func column(_ index: Int, of row: CounterRow) -> CounterColumn {
        var contributions: [SiteName: Int64] = [:]
        for site in row.contributions.keys { contributions[site] = row.contribution(of: site)[index] }
        return CounterColumn(resetRule: row.resetRule, contributions: contributions, reset: row.resets[index])
    }
}
