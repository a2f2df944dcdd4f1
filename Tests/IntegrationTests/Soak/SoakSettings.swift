import Foundation
import TestSupport

/// How big a soak is: from the environment, so that `scripts/soak.sh` runs the same test as CI,
/// only longer. Every failure names the seed that replays it.
struct SoakSettings: Sendable, CustomStringConvertible {
    /// Seeded runs, each on fresh databases (`OMNISYNC_SOAK_RUNS`).
    var runs = 20
    /// Sites per run, 3...10 (`OMNISYNC_SOAK_SITES`); site i lives in test cluster i mod clusters.
    var sites = 3
    /// The first run's seed (`OMNISYNC_SEED`); run i uses seed + i.
    var seed: UInt64 = 0x50A4
    /// Application operations attempted per run, over all sites and phases (`OMNISYNC_SOAK_OPS`):
    /// three quarters on the retail tables, a quarter on the declared ones.
    var operations = 240
    /// Workload phases per run; each ends with healing, quiescence and a full check.
    var phases = 2
    /// How long one phase's writers take to issue their operations, faults aside.
    var phaseSeconds = 1.6
    /// Which runs route `pos.shelf` by location with a hub (`OMNISYNC_SOAK_ROUTED`: `1` every run,
    /// `0` none; by default every other run, the odd ones).
    var routedRuns = RoutedRuns.alternate

    enum RoutedRuns: String, Sendable {
        case none = "0", every = "1", alternate
    }

    func isRouted(run index: Int) -> Bool {
        switch routedRuns {
        case .none: false
        case .every: true
        case .alternate: index % 2 == 1
        }
    }

    static let siteRange = 3...10

    struct InvalidVariable: Error, CustomStringConvertible {
        let description: String
    }

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SoakSettings {
        var settings = SoakSettings()
        settings.seed = try SeededGenerator.seedFromEnvironment(default: settings.seed, environment: environment)
        settings.runs = try integer("OMNISYNC_SOAK_RUNS", in: 1...1_000_000, default: settings.runs, environment)
        settings.sites = try integer("OMNISYNC_SOAK_SITES", in: siteRange, default: settings.sites, environment)
        settings.operations = try integer("OMNISYNC_SOAK_OPS", in: 1...10_000_000, default: settings.operations, environment)
        if let text = environment["OMNISYNC_SOAK_ROUTED"], !text.isEmpty {
            guard let routed = RoutedRuns(rawValue: text), routed != .alternate else {
                throw InvalidVariable(description: "OMNISYNC_SOAK_ROUTED=\(text) is not valid: expected 0 or 1")
            }
            settings.routedRuns = routed
        }
        return settings
    }

    private static func integer(
        _ name: String, in range: ClosedRange<Int>, default value: Int, _ environment: [String: String]
    ) throws -> Int {
        guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw InvalidVariable(description: "\(name)=\(text) is not valid: expected a whole number in \(range)")
        }
        return number
    }

    /// `web`, then `store-01`, `store-02`, ...
    var siteNames: [String] {
        ["web"] + (1..<sites).map { String(format: "store-%02d", $0) }
    }

    /// Operations each site's writer attempts in one phase.
    var operationsPerSitePhase: Int {
        max(1, operations / (phases * sites))
    }

    var description: String {
        "runs=\(runs) sites=\(sites) seed=\(seed) ops=\(operations) routed=\(routedRuns.rawValue)"
    }

    /// The command that replays one run.
    func replayCommand(seed: UInt64, routed: Bool) -> String {
        "scripts/soak.sh --runs 1 --sites \(sites) --ops \(operations) --seed \(seed) --routed \(routed ? 1 : 0)"
    }
}
