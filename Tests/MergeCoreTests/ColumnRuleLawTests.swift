import MergeCore
import TestSupport
import XCTest

/// The laws of every column rule and of the row that holds them, on states from seeded random
/// histories of a declared row (DeclaredRowSimulation): commutative, associative, idempotent, the
/// empty state neutral — one generic harness for every rule — and, after a full exchange, every
/// site equal to the others and to a plain model of what was written.
///
/// A failure prints its seed; `OMNISYNC_SEED=<seed> OMNISYNC_ITERATIONS=1` replays it.
final class ColumnRuleLawTests: XCTestCase {
    func testRowsWithCountsAreJoinsColumnByColumn() throws {
        try checkLaws(shape: .counted, defaultSeed: 0x0C0_0017)
    }

    func testRowsWithAddWinsDeletesAreJoinsColumnByColumn() throws {
        try checkLaws(shape: .deletable, defaultSeed: 0x0DE_1E7E)
    }

    func testRowsOfDeltasOnlyAreJoinsColumnByColumn() throws {
        try checkLaws(shape: .deltasOnly, defaultSeed: 0x0DE_17A5)
    }

    func testFullExchangeConvergesToWhatWasWritten() throws {
        for shape in [DeclaredRowSimulation.Shape.counted, .deletable, .deltasOnly] {
            for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x00C0_4E46, defaultIterations: 40) {
                var rng = SeededGenerator(seed: seed)
                var simulation = DeclaredRowSimulation.history(shape: shape, steps: 120, using: &rng)
                simulation.exchangeAll()
                let first = simulation.replicas[0]
                guard check(simulation.replicas.allSatisfy { $0 == first }, "\(shape) \(rng): sites differ after exchange")
                else { return }
                guard checkModel(first, simulation, "\(shape) \(rng)") else { return }
            }
        }
    }

    // MARK: - The harness

    private func checkLaws(shape: DeclaredRowSimulation.Shape, defaultSeed: UInt64) throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: defaultSeed, defaultIterations: 40) {
            var rng = SeededGenerator(seed: seed)
            let history = DeclaredRowSimulation.history(shape: shape, steps: 100, using: &rng)
            let empty = DeclaredRowSimulation.emptyRow(shape)
            for _ in 0..<30 {
                let a = history.sample(using: &rng), b = history.sample(using: &rng), c = history.sample(using: &rng)
                let context = "\(shape) \(rng)"
                guard checkRowJoin(a, b, c, empty: empty, context) else { return }
                for column in a.columns.indices {
                    let columnContext = "column \(column), \(context)"
                    let ok: Bool
                    // Each rule on its own, then through the registration enum.
                    switch (a.columns[column], b.columns[column], c.columns[column], empty.columns[column]) {
                    case (.counter(let x), .counter(let y), .counter(let z), .counter(let e)):
                        ok = checkJoin((a.clock, x), (b.clock, y), (c.clock, z), empty: e, columnContext)
                    case (.lastWriterWins(let x), .lastWriterWins(let y), .lastWriterWins(let z), .lastWriterWins(let e)):
                        ok = checkJoin((a.clock, x), (b.clock, y), (c.clock, z), empty: e, columnContext)
                    case (.extremum(let x), .extremum(let y), .extremum(let z), .extremum(let e)):
                        ok = checkJoin((a.clock, x), (b.clock, y), (c.clock, z), empty: e, columnContext)
                    case (.status(let x), .status(let y), .status(let z), .status(let e)):
                        ok = checkJoin((a.clock, x), (b.clock, y), (c.clock, z), empty: e, columnContext)
                    default:
                        ok = check(false, "columns of different rules, \(columnContext)")
                    }
                    let registered = checkJoin(
                        (a.clock, a.columns[column]), (b.clock, b.columns[column]), (c.clock, c.columns[column]),
                        empty: empty.columns[column], columnContext)
                    guard ok, registered else { return }
                }
            }
        }
    }

    /// The laws of one rule's merge, given each state's row clock: generic over every rule.
    private func checkJoin<Rule: ColumnRule>(
        _ a: (clock: VectorClock, state: Rule), _ b: (clock: VectorClock, state: Rule),
        _ c: (clock: VectorClock, state: Rule), empty: Rule, _ context: String
    ) -> Bool {
        func merge(_ x: (clock: VectorClock, state: Rule), _ y: (clock: VectorClock, state: Rule))
            -> (clock: VectorClock, state: Rule)
        {
            (x.clock.merged(with: y.clock), x.state.merged(with: y.state, sides: MergeSides(mine: x.clock, theirs: y.clock)))
        }
        let ab = merge(a, b)
        return check(ab.state == merge(b, a).state, "commutativity, \(context): a=\(a) b=\(b)")
            && check(
                merge(ab, c).state == merge(a, merge(b, c)).state, "associativity, \(context): a=\(a) b=\(b) c=\(c)")
            && check(merge(a, a).state == a.state, "idempotence, \(context): a=\(a)")
            && check(merge(a, (VectorClock(), empty)).state == a.state, "the empty state is not neutral, \(context): a=\(a)")
    }

    private func checkRowJoin(
        _ a: ReplicatedRow, _ b: ReplicatedRow, _ c: ReplicatedRow, empty: ReplicatedRow, _ context: String
    ) -> Bool {
        let ab = a.merged(with: b)
        return check(ab == b.merged(with: a), "row commutativity, \(context)")
            && check(ab.merged(with: c) == a.merged(with: b.merged(with: c)), "row associativity, \(context)")
            && check(a.merged(with: a) == a, "row idempotence, \(context)")
            && check(a.merged(with: empty) == a, "the empty row is not neutral, \(context)")
            && check(ab.highWater == max(a.highWater, b.highWater), "high-water mark, \(context)")
    }

    /// What the converged row must show, from the writes alone.
    private func checkModel(_ row: ReplicatedRow, _ simulation: DeclaredRowSimulation, _ context: String) -> Bool {
        typealias Column = DeclaredRowSimulation.Column
        var holds = true
        if simulation.shape == .deltasOnly {
            for column in [Column.quantity, .reserved] {
                holds = holds
                    && check(
                        row.columns[column.rawValue].visibleValue == String(simulation.deltaTotal[column.rawValue]),
                        "counter \(column) is not the sum of every delta, \(context)")
            }
        }
        let lastWrite = simulation.lwwWrites.max { $0.stamp < $1.stamp }
        if let lastWrite {
            holds = holds
                && check(
                    row.columns[Column.price.rawValue].visibleValue == lastWrite.value,
                    "lww is not the write with the greatest stamp \(lastWrite.stamp), \(context)")
        }
        var greatest = Extremum(direction: .greatest, ordering: .number)
        for value in simulation.greatestWritten { _ = greatest.write(value) }
        var least = Extremum(direction: .least, ordering: .bytes)
        for value in simulation.leastWritten { _ = least.write(value) }
        holds = holds
            && check(row.columns[Column.lastSold.rawValue] == .extremum(greatest), "greatest, \(context)")
            && check(row.columns[Column.firstSeen.rawValue] == .extremum(least), "least, \(context)")
        let furthest = simulation.furthestStatusRank.map { DeclaredRowSimulation.statuses[$0] }
        return holds
            && check(
                row.columns[Column.status.rawValue].visibleValue == furthest,
                "status is not the furthest written (\(furthest ?? "none")), \(context)")
    }
}
