import Foundation
import TestSupport
import XCTest

/// The randomized fault soak (`scripts/soak.sh` runs the same test, bigger): seeded runs of
/// concurrent application work at every site while the daemon is killed, its connections are
/// terminated, sites go offline, a second daemon comes and goes, and transactions are held open;
/// each run ends equal, row for row, to an oracle computed from the workload alone — the retail
/// tables, loyalty points, and an application's own declared tables of every rule.
final class SoakTests: XCTestCase {
    func testSeededRunsWithFaultsMatchTheOracle() async throws {
        let settings = try SoakSettings.fromEnvironment()
        _ = try TestClusters.fromEnvironment()
        let started = ContinuousClock.now
        var attempted = 0
        var committed = 0
        var faults: [SoakFault: Int] = [:]
        var runs = 0
        var conflicts = 0
        var declared = 0
        var refused = 0
        var routed = 0
        for index in 0..<settings.runs {
            let seed = settings.seed &+ UInt64(index)
            let outcome = try await SoakRun.run(settings: settings, seed: seed, index: index)
            runs += 1
            attempted += outcome.attempted
            committed += outcome.committed
            faults.merge(outcome.faults, uniquingKeysWith: +)
            conflicts += outcome.conflicts
            declared += outcome.declared
            refused += outcome.refused
            routed += outcome.routed ? 1 : 0
            if ProcessInfo.processInfo.environment["OMNISYNC_SOAK_VERBOSE"] == "1" {
                say(
                    "soak run \(index + 1)/\(settings.runs) seed=\(seed)\(outcome.routed ? " routed" : ""): \(outcome.attempted) operations (\(outcome.declared) on declared tables), "
                        + "\(outcome.faults.values.reduce(0, +)) faults, \(outcome.conflicts) conflicts, \(String(format: "%.1f", outcome.seconds))s")
            }
            if let failure = outcome.failure {
                XCTFail(failure)
                break
            }
        }
        let seconds = (ContinuousClock.now - started).soakSeconds
        let byKind = SoakFault.allCases.map { "\($0.rawValue) \(faults[$0] ?? 0)" }.joined(separator: ", ")
        say(
            "soak: \(runs) runs (\(routed) routed), \(settings.sites) sites, \(attempted) operations (\(committed) committed, \(declared) on declared tables), "
                + "\(faults.values.reduce(0, +)) faults (\(byKind)), \(conflicts) conflicts as predicted, "
                + "\(refused) statements refused as predicted, \(String(format: "%.1f", seconds))s, first seed \(settings.seed)")
    }

    /// One line straight to standard output: `print` buffers when output is a file, and a long
    /// soak must show its progress as it goes.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
