import TestSupport

/// What the soak breaks while the workload runs.
enum SoakFault: String, CaseIterable, Sendable {
    /// `kill -9` of the daemon, restarted after a moment.
    case killDaemon = "kill -9"
    /// `pg_terminate_backend` of every daemon connection at one site (feeds, appliers, listener).
    case terminateConnections = "terminate backends"
    /// A site's server stopped for a while (a store offline); its applications pause meanwhile.
    case siteOffline = "site offline"
    /// A second daemon (or a second and a third) over the same sites, sharing the links with the
    /// primary, started and then stopped (SIGTERM or kill -9).
    case secondDaemon = "second daemon"
    /// An application transaction held open while everything else goes on.
    case heldTransaction = "held transaction"
    /// A till keeps a stock row locked at a site for a few seconds (`SELECT … FOR UPDATE` in an
    /// open transaction) while the daemon must apply changes to it there.
    case lockedRow = "row locked"
    /// A sale in a two-phase transaction (notifications off), prepared, then committed or rolled
    /// back a moment later.
    case preparedTransaction = "prepared transaction"
    /// A site's server stops answering without refusing (every process of it stopped with
    /// SIGSTOP: connections are accepted, statements hang), then carries on.
    case silentSite = "site silent"

    private var weight: Int {
        switch self {
        case .killDaemon: 3
        case .terminateConnections: 3
        case .siteOffline: 2
        case .secondDaemon: 2
        case .heldTransaction: 2
        case .lockedRow: 2
        case .preparedTransaction: 2
        case .silentSite: 1
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
