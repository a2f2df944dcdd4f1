import DaemonKit
import Foundation
import MergeCore

extension SyncEngine {
    /// Measures every link's backlog at its source against the cursor stored at its target.
    func measureBacklogs() async {
        var measured: [String: Backlog] = [:]
        // Links another daemon holds are that daemon's to measure (this one's cursor is stale).
        for link in links where link.source.health.isUp && link.isHeld {
            guard let cursor = await link.storedCursor else { continue }
            if let backlog = try? await link.source.run(link.source.feed, { try Backlog.measure($0, cursor: cursor) }) {
                measured[link.name] = backlog
            }
        }
        backlogs.withLock { $0 = measured }
    }

    /// One line for `STATUS=` and operators: sites up, total backlog, oldest undelivered change.
    public func statusLine() -> String {
        let up = sites.filter { $0.health.isUp }.count
        let known = backlogs.withLock { $0 }
        let total = known.values.reduce(0) { $0 + $1.undelivered }
        let oldest = known.values.compactMap(\.oldestAgeSeconds).max() ?? 0
        return String(format: "sites up %d/%d, backlog %d, oldest undelivered %.1fs", up, sites.count, total, oldest)
    }

    /// False when some link has been stuck inside a round for longer than `limit` (the watchdog
    /// must then be allowed to fire).
    public func isMakingProgress(within limit: Duration) -> Bool {
        links.allSatisfy { $0.progress.isProgressing(within: limit) }
    }

    /// The Prometheus text of the engine's counters (names `omnisync_*`, labels site/peer/kind).
    public func metricsSnapshot() -> MetricsSnapshot {
        var metrics = MetricsSnapshot()
        let counters = stats.snapshot
        let known = backlogs.withLock { $0 }
        for link in links {
            let labels = ["site": link.target.name, "peer": link.source.name]
            let counter = counters.links[link.name] ?? EngineStats.LinkCounters()
            metrics.counter(
                "omnisync_changes_applied", help: "Outbox changes of peer applied at site.", labels: labels,
                value: Double(counter.changes))
            metrics.counter(
                "omnisync_rows_written", help: "Rows written at site while applying changes of peer.", labels: labels,
                value: Double(counter.rowsWritten))
            metrics.counter(
                "omnisync_apply_batches", help: "Batches of peer applied at site.", labels: labels,
                value: Double(counter.batches))
            metrics.counter(
                "omnisync_apply_seconds", help: "Time spent applying batches of peer at site.", labels: labels,
                value: counter.applySeconds)
            metrics.gauge(
                "omnisync_apply_last_batch_seconds", help: "Duration of the last batch of peer applied at site.",
                labels: labels, value: counter.lastBatchSeconds)
            metrics.gauge(
                "omnisync_rows_waiting_on_lock",
                help: "Rows of peer set aside at site because an application there holds them locked.", labels: labels,
                value: Double(counters.lockWaits[link.name] ?? 0))
            let sourceLabels = ["site": link.source.name, "peer": link.target.name]
            if let backlog = known[link.name] {
                metrics.gauge(
                    "omnisync_backlog_changes", help: "Changes of site not yet applied at peer.", labels: sourceLabels,
                    value: Double(backlog.undelivered))
                metrics.gauge(
                    "omnisync_lag_seconds", help: "Age of the oldest change of site not yet applied at peer.",
                    labels: sourceLabels, value: backlog.oldestAgeSeconds ?? 0)
            }
        }
        for site in sites {
            metrics.gauge(
                "omnisync_site_up", help: "Whether the site is reachable (1) or not (0).", labels: ["site": site.name],
                value: site.health.isUp ? 1 : 0)
            let pages = site.pages.counts
            metrics.counter(
                "omnisync_outbox_pages_read", help: "Pages of the site's outbox read by the daemon.",
                labels: ["site": site.name], value: Double(pages.reads))
            metrics.counter(
                "omnisync_outbox_pages_shared", help: "Pages of the site's outbox one link read and another reused.",
                labels: ["site": site.name], value: Double(pages.shared))
            metrics.counter(
                "omnisync_reconnects", help: "Times the site came back after being unreachable.",
                labels: ["site": site.name], value: Double(site.health.reconnects))
            for kind in ConflictKind.allCases {
                metrics.counter(
                    "omnisync_conflicts", help: "Conflicts recorded at site, by kind.",
                    labels: ["site": site.name, "kind": kind.rawValue],
                    value: Double(counters.conflicts[site.name]?[kind] ?? 0))
            }
        }
        metrics.counter(
            "omnisync_skipped_changes", help: "Changes that could not be read or applied and were skipped.",
            value: Double(counters.quarantined))
        return metrics
    }

    /// Refreshes backlogs and writes the metrics file, when one is configured.
    func writeMetrics() async {
        await measureBacklogs()
        guard let path = configuration.daemon.metricsFile else { return }
        do {
            try MetricsText(metricsSnapshot()).writeAtomically(path: path)
        } catch {
            logger.warning("metrics file not written", ["path": path, LogKey.error: "\(error)"])
        }
    }
}
