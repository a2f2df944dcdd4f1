import DaemonKit

extension SyncEngine {
    /// How long startup waits for a site that neither connects nor fails (a network that drops
    /// packets, a server stuck in recovery) before declaring readiness without it.
    static let readinessLimit = Duration.seconds(15)

    /// Returns once every site has answered: connected, unreachable or misconfigured. `READY=1`
    /// follows, so it means "every reachable site is connected" — a site that is down at start
    /// does not hold the service in `activating`, and one that never answers delays it only by
    /// `limit` (each such site is logged).
    func waitForSites(limit: Duration = SyncEngine.readinessLimit) async {
        let deadline = ContinuousClock.now + limit
        while !isStopping && !Task.isCancelled {
            let pending = sites.filter { $0.health.current == .unknown }
            if pending.isEmpty { return }
            if ContinuousClock.now >= deadline {
                for site in pending {
                    logger.warning("site not answering at start, ready without it", [LogKey.site: site.name])
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sites connected now, for the ready line.
    var sitesUp: Int { sites.filter { $0.health.isUp }.count }
}
