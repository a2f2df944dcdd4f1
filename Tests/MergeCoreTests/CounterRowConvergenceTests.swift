import MergeCore
import TestSupport
import XCTest

/// 3–8 simulated sites make random changes and exchange state snapshots through a network that
/// duplicates, reorders and delays them and replays stale ones. Every state any site holds must
/// show what `CounterModel` computes from the global event log; after a final full exchange, every
/// site must hold the same state, showing the model's value for the whole log.
///
/// Stock counts run under `latestWins`, cart deletes under both rules (`joined` is the one the
/// contract asks for).
///
/// Replay a failure with `OMNISYNC_SEED=<seed> OMNISYNC_ITERATIONS=1`; raise
/// `OMNISYNC_ITERATIONS` to search longer.
final class CounterRowConvergenceTests: XCTestCase {
    func testStockRowsConvergeToTheModel() throws {
        try checkConvergence(shape: .stock, rule: .latestWins, defaultSeed: 0x5_70C4)
    }

    func testCartItemsWithJoinedDeletesConvergeToTheModel() throws {
        try checkConvergence(shape: .cart, rule: .joined, defaultSeed: 0xCA_4712)
    }

    func testCartItemsWithLatestDeleteWinningConvergeToTheModel() throws {
        try checkConvergence(shape: .cart, rule: .latestWins, defaultSeed: 0xCA_4711)
    }

    private func checkConvergence(shape: CounterSimulation.Shape, rule: ResetRule, defaultSeed: UInt64) throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: defaultSeed, defaultIterations: 150) {
            var rng = SeededGenerator(seed: seed)
            var simulation = CounterSimulation(
                shape: shape, rule: rule, siteCount: Int.random(in: 3...8, using: &rng), using: &rng)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                for _ in 0..<Int.random(in: 0...80, using: &rng) { simulation.randomStep(using: &rng) }
                // Sometimes the sites settle and one of them counts or deletes having seen
                // everything, so that histories also end in an absent cart item or an exact count.
                if Bool.random(using: &rng) {
                    simulation.fullExchange()
                    simulation.localReset(at: Int.random(in: simulation.sites.indices, using: &rng), using: &rng)
                }
            }
            simulation.fullExchange()
            if !checkConverged(simulation, "\(shape) \(rule) \(rng) sites=\(simulation.sites)") { break }
        }
    }

    private func checkConverged(_ simulation: CounterSimulation, _ context: String) -> Bool {
        guard check(simulation.violations.isEmpty, "\(context): \(simulation.violations.joined(separator: "; "))")
        else { return false }
        let everything = Set(simulation.model.events.indices)
        let first = simulation.states[0].row
        for (site, state) in zip(simulation.sites, simulation.states) {
            guard check(state.seen == everything, "\(context): \(site) has not seen every event")
                && check(
                    state.row == first, "\(context): \(site) holds \(state.row), \(simulation.sites[0]) holds \(first)")
            else { return false }
        }
        for column in 0..<first.columnCount {
            let expected = simulation.model.value(column: column, seen: everything)
            guard check(
                first.value(column: column) == expected,
                "\(context): column \(column) converged to \(first.value(column: column)), model says \(expected)")
            else { return false }
        }
        if simulation.shape == .cart {
            let present = simulation.model.isPresent(resetColumn: 0, seen: everything)
            return check(
                first.isPresent(resetColumn: 0) == present,
                "\(context): converged to present=\(!present), model says \(present)")
        }
        return true
    }
}
