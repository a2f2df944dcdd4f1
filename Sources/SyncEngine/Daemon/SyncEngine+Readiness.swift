import DaemonKit

extension SyncEngine {
    /// How long startup waits for a site that neither connects nor fails (a network that drops
    /// packets, a server stuck in recovery) before declaring readiness without it.
    static let readinessLimit = Duration.seconds(15)

    private enum Readiness: Sendable {
        case everySiteAnswered, limitReached, stopping
    }

    /// Returns once every site has answered: connected, unreachable or misconfigured. `READY=1`
    /// follows, so it means "every reachable site is connected" — a site that is down at start
    /// does not hold the service in `activating`, and one that never answers delays it only by
    /// `limit` (each such site is logged). Awaits the sites' first answers, the limit and a stop,
    /// whichever comes first.
    func waitForSites(limit: Duration = SyncEngine.readinessLimit) async {
        let outcome = await withTaskGroup(of: Readiness.self) { [sites, stopped] group in
            group.addTask {
                for site in sites { await site.health.answered.wait() }
                return .everySiteAnswered
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return .limitReached
            }
            group.addTask {
                await stopped.wait()
                return .stopping
            }
            let first = await group.next() ?? .stopping
            group.cancelAll()
            return first
        }
        guard case .limitReached = outcome else { return }
        for site in sites where site.health.current == .unknown {
            logger.warning("site not answering at start, ready without it", [LogKey.site: site.name])
        }
    }

    /// Sites connected now, for the ready line.
    var sitesUp: Int { sites.filter { $0.health.isUp }.count }
}
