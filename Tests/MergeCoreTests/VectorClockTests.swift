import MergeCore
import TestSupport
import XCTest

final class VectorClockTests: XCTestCase {
    /// Commutative, associative, idempotent, and never lower than either side, on clocks that real
    /// histories produce (row clocks and the clocks of resets).
    func testMergeIsAJoin() throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x00C1_0C4, defaultIterations: 40) {
            var rng = SeededGenerator(seed: seed)
            let history = CounterSimulation.history(shape: .stock, rule: .latestWins, steps: 80, using: &rng)
            let clocks = history.archive.map(\.row.clock)
                + history.archive.flatMap { $0.row.resets.compactMap { $0?.clock } }
            var holds = true
            for _ in 0..<40 where holds {
                let a = clocks[Int.random(in: clocks.indices, using: &rng)]
                let b = clocks[Int.random(in: clocks.indices, using: &rng)]
                let c = clocks[Int.random(in: clocks.indices, using: &rng)]
                let ab = a.merged(with: b)
                holds =
                    check(ab == b.merged(with: a), "commutativity, \(rng): a=\(a) b=\(b)")
                    && check(
                        ab.merged(with: c) == a.merged(with: b.merged(with: c)),
                        "associativity, \(rng): a=\(a) b=\(b) c=\(c)")
                    && check(a.merged(with: a) == a, "idempotence, \(rng): a=\(a)")
                    && check(
                        Set(a.sites + b.sites).allSatisfy { ab[$0] == max(a[$0], b[$0]) },
                        "merge is not the pointwise maximum, \(rng): a=\(a) b=\(b) merged=\(ab)")
                    && check(
                        (a.compare(b) == .before || a.compare(b) == .equal) == (ab == b),
                        "compare disagrees with merge, \(rng): a=\(a) b=\(b)")
            }
            if !holds { break }
        }
    }

    func testCompare() {
        let a = VectorClock(["web": 2, "store-1": 1])
        XCTAssertEqual(a.compare(a), .equal)
        XCTAssertEqual(a.compare(VectorClock(["web": 3, "store-1": 1])), .before)
        XCTAssertEqual(a.compare(VectorClock(["web": 2])), .after)
        XCTAssertEqual(a.compare(VectorClock(["web": 1, "store-1": 2])), .concurrent)
        XCTAssertEqual(VectorClock().compare(a), .before)
    }

    func testAbsentAndNonPositiveEntriesCountAsZero() {
        let clock = VectorClock(["web": 0, "store-1": -3, "store-2": 1])
        XCTAssertEqual(clock.sites, ["store-2"])
        XCTAssertEqual(clock["web"], 0)
        XCTAssertEqual(clock, VectorClock(["store-2": 1]))
    }

    func testSitesAndDescriptionAreSortedByteWise() {
        let clock = VectorClock(["web": 1, "store-2": 1, "store-10": 3])
        XCTAssertEqual(clock.sites, ["store-10", "store-2", "web"])
        XCTAssertEqual(clock.description, "{store-10:3,store-2:1,web:1}")
    }
}
