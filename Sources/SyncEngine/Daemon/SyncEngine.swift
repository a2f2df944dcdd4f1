import DaemonKit
import Foundation
import MergeCore
import Postgres
import Synchronization

/// Keeps every configured site in sync: one link per ordered pair of sites — with hubs, per pair
/// with a hub in it, the hubs relaying the rest (`RouteShares`) — woken by the sources'
/// notifications, a safety poll, and every (re)connect.
public final class SyncEngine: Sendable {
    let configuration: Configuration
    let sites: [SiteHandle]
    let links: [Link]
    /// Per target, the links into it this daemon holds (guarantee 8: daemons share the links).
    let ownerships: [LinkOwnership]
    let identity = DaemonIdentity.next()
    let stats = EngineStats()
    let logger: Logger
    let backlogs = Mutex<[String: Backlog]>([:])
    /// Per source, what each target had stored at the previous pruning pass.
    private let positionsAtLastPrune = Mutex<[String: [String: String]]>([:])
    /// Opened by `stop()`; `run()` and startup await it.
    let stopped = Latch()

    /// Whether someone reads the backlog while running (a metrics file, or systemd's STATUS=);
    /// otherwise it is not measured, to keep an idle daemon idle.
    let measuresBacklog: Bool

    public init(configuration: Configuration, logger: Logger, reportsStatus: Bool = false) {
        self.configuration = configuration
        self.logger = logger
        self.measuresBacklog = reportsStatus || configuration.daemon.metricsFile != nil
        let installed = InstalledTables(catalog: configuration.catalog)
        let routes = RouteShares(router: Router(sites: configuration.sites), catalog: configuration.catalog)
        let names = configuration.sites.map(\.name)
        let handles = configuration.sites.map { site in
            SiteHandle(
                config: site, logger: logger, readers: names.filter { routes.links(site.name, to: $0) }.count,
                installed: installed)
        }
        sites = handles
        let stopped = stopped
        var ownerships: [String: LinkOwnership] = [:]
        for target in handles {
            let sources = handles.filter { routes.links($0.name, to: target.name) }.map {
                LinkOwnership.Source(
                    name: $0.name, key: AdvisoryKey.link(source: $0.name),
                    rank: AdvisoryKey.rank(source: $0.name, target: target.name), health: $0.health)
            }
            ownerships[target.name] = LinkOwnership(
                identity: identity, target: target.name, sources: sources, logger: logger)
        }
        self.ownerships = handles.compactMap { ownerships[$0.name] }
        var links: [Link] = []
        for source in handles {
            for target in handles where routes.links(source.name, to: target.name) {
                guard let ownership = ownerships[target.name] else { continue }
                links.append(
                    Link(
                        source: source, target: target, logger: logger, stats: stats,
                        batchSize: configuration.daemon.batchSize, routes: routes, ownership: ownership,
                        stopping: { stopped.isOpen }))
            }
        }
        self.links = links
    }

    public var isStopping: Bool { stopped.isOpen }

    /// Finishes the batches under way, then makes `run()` return. A connect under way is
    /// abandoned, and a statement that a silent server never answers is given a few seconds.
    public func stop() {
        stopped.open()
        for link in links { link.finish() }
        for site in sites { site.interrupt() }
    }

    /// Delivers everything pending on every link until all are caught up (or `rounds` runs out).
    /// Used by one-shot tools and tests; the daemon uses `run()`.
    @discardableResult
    public func syncOnce(rounds: Int = 20) async -> Int {
        var total = 0
        for _ in 0..<rounds {
            for site in sites { site.pages.invalidate() }
            let results = await withTaskGroup(of: Link.Round.self) { group in
                for link in links { group.addTask { await link.deliverPending() } }
                var all: [Link.Round] = []
                for await round in group { all.append(round) }
                return all
            }
            let changes = results.reduce(0) { $0 + $1.changes }
            total += changes
            if changes == 0, results.allSatisfy({ $0.caughtUp && !$0.busy }) { break }
            if changes == 0 { try? await Task.sleep(for: .milliseconds(50)) }
        }
        await withTaskGroup(of: Void.self) { group in
            for link in links { group.addTask { await link.storeMovedCursor() } }
        }
        return total
    }

    /// Runs until `stop()`: link loops, listeners, the safety poll, pruning and the stats line.
    public func run(onReady: @escaping @Sendable () -> Void = {}) async {
        let listeners = sites.map { site in
            NotificationListener(conninfo: site.conninfo, channels: ["omnisync"], label: "\(site.name)/listen")
        }
        for listener in listeners { listener.start() }
        await withTaskGroup(of: Void.self) { group in
            for link in links {
                group.addTask { [self] in
                    for await _ in link.wakes {
                        if isStopping { break }
                        _ = await link.deliverPending()
                    }
                }
                link.wake()
            }
            for (site, listener) in zip(sites, listeners) {
                group.addTask { [self] in await follow(listener, of: site) }
            }
            group.addTask { [self] in await safetyPoll() }
            for (target, ownership) in zip(sites, ownerships) {
                group.addTask { [self] in await shareLinks(into: target, ownership) }
            }
            group.addTask { [self] in await pruneLoop() }
            group.addTask { [self] in await statsLoop() }
            group.addTask { [self] in await metricsLoop() }
            // READY=1 means every reachable site is connected (SyncEngine+Readiness.swift).
            group.addTask { [self] in
                await waitForSites()
                if !isStopping { onReady() }
            }
            // Link loops end when stop() finishes their wake streams; then stop the rest.
            await stopped.wait()
            for listener in listeners { listener.stop() }
            group.cancelAll()
        }
        // Cursors moved by pages with nothing for their targets are stored before the sessions
        // close, so that a stopped daemon leaves nothing counted as undelivered.
        await withTaskGroup(of: Void.self) { group in
            for link in links { group.addTask { await link.storeMovedCursor() } }
        }
        if configuration.daemon.metricsFile != nil { await writeMetrics() }
        for site in sites { await site.close() }
    }

    /// Wakes the links a site's notifications and reconnects concern.
    private func follow(_ listener: NotificationListener, of site: SiteHandle) async {
        for await event in listener.events {
            if isStopping { break }
            switch event {
            case .notification(_, let payload):
                site.pages.invalidate()
                for link in links where link.source === site { link.wake() }
                if payload == "follow" {
                    // omnisync.follow or unfollow there: the links into the site bring or take rows.
                    site.follows.invalidate()
                    for link in links where link.target === site { link.wake() }
                }
            case .connected:
                // Notifications were lost while disconnected; the site may also be back as a target.
                site.pages.invalidate()
                site.follows.invalidate()
                for link in links where link.source === site || link.target === site { link.wake() }
            case .disconnected:
                break
            }
        }
    }

    /// The safety net under notifications: every `poll_interval_ms`, one cheap probe per source
    /// (its current snapshot). Links of a source wake only when the snapshot moved since the last
    /// probe (some transaction began or ended there), or when their last round did not finish —
    /// so twenty idle sites cost twenty small queries per interval, not one per link. Each source
    /// is probed on its own schedule: one that does not answer delays no other's.
    private func safetyPoll() async {
        await withTaskGroup(of: Void.self) { group in
            for source in sites {
                group.addTask { [self] in await safetyPoll(source) }
            }
        }
    }

    private func safetyPoll(_ source: SiteHandle) async {
        let interval = Duration.milliseconds(configuration.daemon.pollIntervalMs)
        var lastProbe: String?
        while !Task.isCancelled && !isStopping {
            try? await Task.sleep(for: interval)
            if Task.isCancelled || isStopping { break }
            let probe = try? await source.run(source.feed) { connection in
                try connection.query("SELECT pg_current_snapshot()::text", label: "probe").rows.first?[0] ?? nil
            }
            let moved = probe == nil || probe != lastProbe
            lastProbe = probe ?? nil
            if moved { source.pages.invalidate() }
            for link in links where link.source === source && (moved || !link.progress.isCaughtUp) {
                link.wake()
            }
        }
    }

    /// Looks at the target's link locks every few seconds: takes the links whose daemon stopped or
    /// died, lets go of those a newly started daemon is preferred for, and wakes the links taken.
    private func shareLinks(into target: SiteHandle, _ ownership: LinkOwnership) async {
        while !Task.isCancelled && !isStopping {
            try? await Task.sleep(for: ownership.nextLookDelay)
            if Task.isCancelled || isStopping { break }
            guard target.health.isReachable else { continue }
            guard let taken = try? await target.run(target.apply, { try ownership.look($0) }), !taken.isEmpty else {
                continue
            }
            for link in links where link.target === target && taken.contains(link.source.name) { link.wake() }
        }
    }

    private func pruneLoop() async {
        while !Task.isCancelled && !isStopping {
            try? await Task.sleep(for: .seconds(30))
            if Task.isCancelled || isStopping { break }
            await pruneOutboxes()
        }
    }

    /// Prunes each source's outbox below what all its targets had received at the previous pass.
    ///
    /// Not below what they have received now: batches and cursors commit without waiting for
    /// their WAL flush (`SiteHandle.sessionSetup`), so a target whose server crashes may lose its
    /// last moments of cursor moves and ask for those changes again. A position stored a whole
    /// pass earlier (30 s in the daemon) has long been flushed.
    public func pruneOutboxes() async {
        for source in sites where source.health.isUp {
            var positions: [String: String] = [:]
            var complete = true
            for link in links where link.source === source {
                guard let cursor = await link.pruningPosition() else {
                    complete = false
                    break
                }
                positions[link.target.name] = cursor.doneXmin
            }
            guard complete, !positions.isEmpty else { continue }
            let current = positions
            let earlier = positionsAtLastPrune.withLock { stored in
                defer { stored[source.name] = current }
                return stored[source.name]
            }
            guard let known = earlier, Set(known.keys) == Set(current.keys) else { continue }
            do {
                let pruned = try await source.run(source.feed) { try OutboxPruner.run($0, positions: known) }
                if pruned > 0 { logger.debug("outbox pruned", [LogKey.site: source.name, LogKey.count: pruned]) }
            } catch {
                logger.info("outbox not pruned", [LogKey.site: source.name, LogKey.error: "\(error)"])
            }
        }
    }

    private func metricsLoop() async {
        guard measuresBacklog else { return }
        while !Task.isCancelled && !isStopping {
            await writeMetrics()
            // Without a metrics file the backlog only feeds the STATUS= line: measure less often.
            try? await Task.sleep(for: .seconds(configuration.daemon.metricsFile == nil ? 30 : 10))
        }
    }

    private func statsLoop() async {
        var previous = stats.snapshot
        while !Task.isCancelled && !isStopping {
            try? await Task.sleep(for: .seconds(60))
            if Task.isCancelled || isStopping { break }
            let now = stats.snapshot
            let up = sites.filter { $0.health.isUp }.count
            logger.info(
                "stats",
                [
                    "sites_up": up, "sites": sites.count, LogKey.changes: now.totalChanges - previous.totalChanges,
                    "conflicts": now.totalConflicts - previous.totalConflicts,
                    "skipped": now.quarantined - previous.quarantined, "interval_s": 60,
                ])
            previous = now
        }
    }
}

extension SyncEngine {
    /// Closes every connection (one-shot use and tests; `run()` closes its own).
    public func shutdown() async {
        stop()
        for site in sites { await site.close() }
    }

    /// The engine's counters (metrics, tests).
    public var counters: (changes: Int, conflicts: Int, skipped: Int) {
        let snapshot = stats.snapshot
        return (snapshot.totalChanges, snapshot.totalConflicts, snapshot.quarantined)
    }
}

extension SyncEngine {
    /// The links by name, `source>target`.
    public var linkNames: [String] { links.map(\.name) }

    /// Runs one delivery round of one link (tests that need a particular delivery order).
    @discardableResult
    public func deliver(link name: String) async -> Int {
        guard let link = links.first(where: { $0.name == name }) else { return 0 }
        link.source.pages.invalidate()
        return await link.deliverPending().changes
    }
}
