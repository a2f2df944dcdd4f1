import TestSupport

/// What the soak breaks while the workload runs.
enum SoakFault: String, CaseIterable, Sendable {
    /// `kill -9` of the daemon, restarted after a moment.
    case killDaemon = "kill -9"
    /// `pg_terminate_backend` of every daemon connection at one site (feeds, appliers, listener).
    case terminateConnections = "terminate backends"
    /// A site's server stopped for a while (a store offline); its applications pause meanwhile.
    case siteOffline = "site offline"
    /// A second daemon over the same sites, started and then stopped (SIGTERM or kill -9).
    case secondDaemon = "second daemon"
    /// An application transaction held open while everything else goes on.
    case heldTransaction = "held transaction"

    private var weight: Int {
        switch self {
        case .killDaemon: 3
        case .terminateConnections: 3
        case .siteOffline: 2
        case .secondDaemon: 2
        case .heldTransaction: 2
        }
    }

    static func random(using rng: inout SeededGenerator) -> SoakFault {
        var roll = Int.random(in: 0..<allCases.reduce(0) { $0 + $1.weight }, using: &rng)
        for fault in allCases {
            if roll < fault.weight { return fault }
            roll -= fault.weight
        }
        return .killDaemon
    }
}
