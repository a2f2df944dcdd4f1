import Catalog
import Foundation

/// What `omnisync status` reports, read from the sites' own tables (works with the daemon down).
public struct StatusReport: Sendable, Equatable {
    public struct Peer: Sendable, Equatable {
        public let peer: String
        /// Changes of this site not yet applied at `peer`; nil when it cannot be measured.
        public let undelivered: Int?
        public let oldestAgeSeconds: Double?
        /// Rows of this site set aside at `peer` because an application there holds them locked
        /// (they follow once the lock is released); nil when it cannot be measured.
        public let waitingOnLock: Int?
        /// The daemon (`host:pid`) applying this site's changes at `peer` now; nil when none is.
        public let daemon: String?

        public init(
            peer: String, undelivered: Int?, oldestAgeSeconds: Double?, waitingOnLock: Int? = nil, daemon: String? = nil
        ) {
            self.peer = peer
            self.undelivered = undelivered
            self.oldestAgeSeconds = oldestAgeSeconds
            self.waitingOnLock = waitingOnLock
            self.daemon = daemon
        }
    }

    public struct Site: Sendable, Equatable {
        public let name: String
        public let reachable: Bool
        public let error: String?
        public let schemaVersion: Int?
        public let openConflicts: Int?
        /// Rows held in this site's quarantine (not counting rows waiting on a lock).
        public let quarantined: Int?
        public let peers: [Peer]
        /// Declared tables that changed at the site since `migrate` (a column added, or a
        /// replicated column gone), one line each with the fix.
        public var tableDrift: [String] = []
    }

    public var sites: [Site]

    public var anyReachable: Bool { sites.contains { $0.reachable } }

    public func renderText() -> String {
        var lines: [String] = []
        for site in sites {
            guard site.reachable else {
                lines.append("site \(site.name): unreachable (\(site.error ?? "unknown error"))")
                continue
            }
            var header = "site \(site.name): reachable, schema \(site.schemaVersion.map(String.init) ?? "none")"
            header += ", open conflicts \(site.openConflicts.map(String.init) ?? "?")"
            header += ", quarantined \(site.quarantined.map(String.init) ?? "?")"
            if let error = site.error { header += " — \(error)" }
            lines.append(header)
            for peer in site.peers {
                let count = peer.undelivered.map(String.init) ?? "unknown"
                let age = peer.oldestAgeSeconds.map { String(format: ", oldest %.1fs", $0) } ?? ""
                let waiting = peer.waitingOnLock.flatMap { $0 > 0 ? ", \($0) waiting on a lock there" : nil } ?? ""
                let daemon = peer.daemon.map { ", applied by \($0)" } ?? ""
                lines.append("  to \(peer.peer): \(count) undelivered\(age)\(waiting)\(daemon)")
            }
            for drift in site.tableDrift { lines.append("  table \(drift)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func renderJSON() -> String {
        let siteObjects = sites.map { site -> String in
            let peers = "[" + site.peers.map { peer in
                JSONText.object([
                    ("peer", JSONText.quote(peer.peer)),
                    ("undelivered", peer.undelivered.map(String.init) ?? "null"),
                    ("oldest_undelivered_age_seconds", peer.oldestAgeSeconds.map { String(format: "%.3f", $0) } ?? "null"),
                    ("waiting_on_lock", peer.waitingOnLock.map(String.init) ?? "null"),
                    ("daemon", JSONText.value(peer.daemon)),
                ])
            }.joined(separator: ",") + "]"
            return JSONText.object([
                ("site", JSONText.quote(site.name)),
                ("reachable", site.reachable ? "true" : "false"),
                ("error", JSONText.value(site.error)),
                ("schema_version", site.schemaVersion.map(String.init) ?? "null"),
                ("open_conflicts", site.openConflicts.map(String.init) ?? "null"),
                ("quarantined", site.quarantined.map(String.init) ?? "null"),
                ("peers", peers),
                ("table_drift", "[" + site.tableDrift.map(JSONText.quote).joined(separator: ",") + "]"),
            ])
        }
        return JSONText.object([
            ("sites", "[" + siteObjects.joined(separator: ",") + "]"),
            ("any_reachable", anyReachable ? "true" : "false"),
        ]) + "\n"
    }
}

/// Gathers a `StatusReport` from every site at once.
public struct StatusCollector: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    private struct SiteFacts: Sendable {
        var identityProblem: String?
        var version: Int?
        var openConflicts: Int?
        var quarantined: Int?
        /// Rows waiting on a lock here, by source site.
        var lockWaits: [String: Int]?
        var cursors: [String: LinkCursor] = [:]
        /// The daemon applying each source's changes here (holding its link lock), by source.
        var linkDaemons: [String: String] = [:]
        var tableDrift: [String] = []
    }

    public func collect() async -> StatusReport {
        let queries = SiteQueries(configuration: configuration)
        let router = Router(sites: configuration.sites)
        let facts = await queries.each(label: "status") { site, connection -> SiteFacts in
            var facts = SiteFacts()
            guard let identity = try SiteIdentity.read(connection) else {
                facts.identityProblem = "omnisync schema not installed; run omnisync migrate"
                return facts
            }
            facts.version = identity.version
            do {
                try SiteIdentity.verify(connection, site: site.name)
                let installed = try DeclaredTableRecords.read(connection, site: site.name, catalog: configuration.catalog)
                switch installed {
                case .failure(let problem):
                    facts.identityProblem = problem.message
                case .success(let tables):
                    for table in tables {
                        guard let spec = configuration.catalog.table(id: table.id) else { continue }
                        let tableFacts = try TableIntrospector.facts(of: table.name, connection: connection)
                        let resolved = TableResolver.resolve(spec, facts: tableFacts).table
                        facts.tableDrift += TableResolver.drift(installed: table, resolved: resolved, facts: tableFacts).map {
                            "\($0.column.map { "\(table.name) column \($0)" } ?? "\(table.name)"): \($0.message); fix: \($0.fix)"
                        }
                    }
                }
            } catch let problem as SiteProblem {
                facts.identityProblem = problem.message
            }
            if identity.version >= 3 {
                facts.openConflicts = Int(
                    try connection.query(
                        "SELECT count(*) FROM omnisync.conflicts WHERE resolved_at IS NULL", label: "count conflicts"
                    ).rows.first?[0] ?? "")
                for other in configuration.sites where router.links(other.name, to: site.name) {
                    facts.cursors[other.name] = try Applier.readCursor(connection, source: other.name)
                }
            }
            if identity.version >= 4 {
                facts.quarantined = Int(
                    try connection.query(
                        "SELECT count(*) FROM omnisync.quarantine WHERE reason <> $1", [Quarantine.lockWaitReason],
                        label: "count quarantine"
                    ).rows.first?[0] ?? "")
                var waits: [String: Int] = [:]
                for row in try connection.query(
                    "SELECT source_site, count(*) FROM omnisync.quarantine WHERE reason = $1 GROUP BY source_site",
                    [Quarantine.lockWaitReason], label: "count lock waits"
                ).rows {
                    waits[row[0] ?? ""] = Int(row[1] ?? "") ?? 0
                }
                facts.lockWaits = waits
            }
            if identity.version >= 10 {
                let sources = Dictionary(
                    configuration.sites.map { (AdvisoryKey.link(source: $0.name), $0.name) }, uniquingKeysWith: { a, _ in a })
                for row in try connection.query(
                    """
                    SELECT l.objid::bigint, d.daemon FROM pg_locks l JOIN omnisync.daemon_sessions d ON d.backend_pid = l.pid
                    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint = $1::bigint
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """, [String(AdvisoryKey.linkClass)], label: "read link daemons"
                ).rows {
                    guard let key = row[0].flatMap({ Int32($0) }), let source = sources[key], let daemon = row[1] else { continue }
                    facts.linkDaemons[source] = daemon
                }
            }
            return facts
        }
        // The backlog of S toward T is measured at S against the cursor stored at T.
        var cursorsAtTarget: [String: [String: LinkCursor?]] = [:]
        for (site, result) in facts {
            if case .success(let value) = result, value.version ?? 0 >= 3 {
                var known: [String: LinkCursor?] = [:]
                for other in configuration.sites where router.links(other.name, to: site.name) {
                    known[other.name] = .some(value.cursors[other.name])
                }
                cursorsAtTarget[site.name] = known
            }
        }
        let knownCursors = cursorsAtTarget
        // Rows of S waiting on a lock at T are counted at T.
        var waitsAtTarget: [String: [String: Int]] = [:]
        for (site, result) in facts {
            if case .success(let value) = result, let waits = value.lockWaits { waitsAtTarget[site.name] = waits }
        }
        let knownWaits = waitsAtTarget
        var daemonsAtTarget: [String: [String: String]] = [:]
        for (site, result) in facts {
            if case .success(let value) = result { daemonsAtTarget[site.name] = value.linkDaemons }
        }
        let knownDaemons = daemonsAtTarget
        let peersBySite = await queries.each(label: "backlog", only: SiteQueries.answered(facts)) {
            site, connection -> [StatusReport.Peer] in
            var peers: [StatusReport.Peer] = []
            // Only linked pairs: with hubs, a site reaches the others through them.
            for other in configuration.sites where router.links(site.name, to: other.name) {
                guard let atTarget = knownCursors[other.name], let cursor = atTarget[site.name] else {
                    peers.append(
                        StatusReport.Peer(
                            peer: other.name, undelivered: nil, oldestAgeSeconds: nil,
                            daemon: knownDaemons[other.name]?[site.name]))
                    continue
                }
                let backlog = try Backlog.measure(connection, cursor: cursor)
                let waiting = knownWaits[other.name].map { $0[site.name] ?? 0 }
                peers.append(
                    StatusReport.Peer(
                        peer: other.name, undelivered: backlog.undelivered, oldestAgeSeconds: backlog.oldestAgeSeconds,
                        waitingOnLock: waiting, daemon: knownDaemons[other.name]?[site.name]))
            }
            return peers
        }
        var sites: [StatusReport.Site] = []
        for ((site, result), (_, peerResult)) in zip(facts, peersBySite) {
            switch result {
            case .failure(let error):
                sites.append(
                    StatusReport.Site(
                        name: site.name, reachable: false, error: SiteQueries.reason(error), schemaVersion: nil,
                        openConflicts: nil, quarantined: nil, peers: []))
            case .success(let value):
                let peers = (try? peerResult.get()) ?? []
                sites.append(
                    StatusReport.Site(
                        name: site.name, reachable: true, error: value.identityProblem, schemaVersion: value.version,
                        openConflicts: value.openConflicts, quarantined: value.quarantined,
                        peers: value.identityProblem == nil ? peers : [], tableDrift: value.tableDrift))
            }
        }
        return StatusReport(sites: sites)
    }
}
