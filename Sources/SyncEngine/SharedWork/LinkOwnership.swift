import DaemonKit
import Postgres
import Synchronization

/// The links into one target that this daemon holds (CONTRACT §9, guarantee 8): session-level
/// advisory locks taken by its apply session there, so that a daemon that dies or loses that
/// session loses them at once, and another takes them over.
///
/// The locks only keep daemons from doing the same work twice; correctness never depends on them
/// (every apply is a join and cursors are compare-and-set), so a link applied by two daemons for a
/// moment, after a reconnect, is harmless.
final class LinkOwnership: Sendable {
    struct Source: Sendable {
        let name: String
        let key: Int32
        let rank: Int32
        let health: SiteHealth
    }

    private struct State {
        /// The apply connection the facts below belong to (nil: not looked yet).
        var serial: UInt64?
        var held: Set<Int32> = []
        /// Since when each link has been seen free by this daemon's looks.
        var freeSince: [Int32: ContinuousClock.Instant] = [:]
        var handedTo: [Int32: Int32] = [:]
        /// Per link key, how many times this daemon took it: a link that finds the count moved
        /// reads its cursor again (another daemon applied in between).
        var takes: [Int32: Int] = [:]
        var lookedAt: ContinuousClock.Instant?
        /// Whether this daemon is preferred for a link it does not hold yet: look again soon.
        var awaitingHandOver = false
    }

    let identity: DaemonIdentity
    let target: String
    let sources: [Source]
    private let logger: Logger
    private let state = Mutex(State())

    /// How often the links are looked at again: a dead daemon's links are taken over within two
    /// looks (the contract's bound is 15 s).
    static let lookInterval = Duration.seconds(4)
    /// How often while a hand-over to this daemon is under way, and at least how long between
    /// looks that a link asks for.
    static let quickLook = Duration.milliseconds(500)

    init(identity: DaemonIdentity, target: String, sources: [Source], logger: Logger) {
        self.identity = identity
        self.target = target
        self.sources = sources
        self.logger = logger.with([LogKey.site: target])
    }

    /// Whether this daemon holds the link from `key`'s source, and how many times it took it.
    func claim(of key: Int32) -> (held: Bool, takes: Int) {
        state.withLock { ($0.held.contains(key), $0.takes[key] ?? 0) }
    }

    /// When the next periodic look is due.
    var nextLookDelay: Duration {
        state.withLock { $0.awaitingHandOver ? Self.quickLook : Self.lookInterval }
    }

    /// Looks again at once if the connection is not the one the facts belong to, or if `key` is not
    /// held and the last look is older than `quickLook`; returns whether `key` is held then.
    /// Runs on the target's apply session.
    func ensure(_ connection: PostgresConnection, key: Int32) throws(PostgresError) -> (held: Bool, takes: Int) {
        let stale = state.withLock { state -> Bool in
            if state.serial != connection.serial { return true }
            if state.held.contains(key) { return false }
            guard let lookedAt = state.lookedAt else { return true }
            return ContinuousClock.now - lookedAt >= Self.quickLook
        }
        if stale { _ = try look(connection) }
        return claim(of: key)
    }

    /// Reads the target's advisory locks, takes and lets go of links as `LinkClaims` decides, and
    /// returns the sources of the links newly taken. Runs on the target's apply session.
    func look(_ connection: PostgresConnection) throws(PostgresError) -> [String] {
        let fresh = state.withLock { $0.serial != connection.serial }
        if fresh {
            // A new session holds nothing yet: announce the daemon and name it for status.
            _ = try connection.query(
                "SELECT pg_try_advisory_lock($1::int, $2::int)",
                [String(AdvisoryKey.daemonClass), String(identity.key)], label: "daemon presence")
            do {
                _ = try connection.query(
                    """
                    INSERT INTO omnisync.daemon_sessions (backend_pid, daemon) VALUES (pg_backend_pid(), $1)
                    ON CONFLICT (backend_pid) DO UPDATE SET daemon = EXCLUDED.daemon, since = now()
                    """, [identity.name], label: "name daemon session")
                _ = try connection.query(
                    """
                    DELETE FROM omnisync.daemon_sessions
                    WHERE backend_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
                    """, label: "forget ended daemon sessions")
            } catch where error.category != .connection {
                // Only status's naming needs it (a role script not run again after an upgrade).
                logger.warning("daemon session not named, status shows no daemon here", [LogKey.error: error.summary])
            }
            state.withLock { state in
                state.serial = connection.serial
                state.held = []
                state.freeSince = [:]
            }
        }
        let locks = try connection.query(Self.readLocks, [String(AdvisoryKey.daemonClass), String(AdvisoryKey.linkClass)],
            label: "read link locks")
        var daemons: Set<Int32> = [identity.key]
        var holders: [Int32: LinkClaims.Holder] = [:]
        for row in locks.rows {
            guard let lockClass = row[0].flatMap({ Int32($0) }), let key = row[1].flatMap({ Int32($0) }) else { continue }
            if lockClass == AdvisoryKey.daemonClass {
                daemons.insert(key)
            } else {
                holders[key] = row[2] == "t" ? .me : (holders[key] == .me ? .me : .other)
            }
        }
        let keys = Array(Set(sources.map(\.key))).sorted()
        let reachable = Dictionary(sources.map { ($0.key, $0.health.isReachable) }, uniquingKeysWith: { $0 || $1 })
        let ranks = Dictionary(sources.map { ($0.key, $0.rank) }, uniquingKeysWith: { first, _ in first })
        let me = identity.key
        let now = ContinuousClock.now
        let claims = state.withLock { state in
            keys.map { key in
                // Free for a whole look interval, not merely at two looks: a link's rounds look every
                // `quickLook` while it is not held, and a link just let go to its preferred daemon must
                // leave that daemon time to come for it, or the one that let it go takes it back for good.
                let freeLong = state.freeSince[key].map { now - $0 >= Self.lookInterval - Self.quickLook } ?? false
                return LinkClaims.Claim(
                    key: key, rank: ranks[key], holder: holders[key] ?? .free, freeBefore: freeLong,
                    sourceReachable: reachable[key] ?? true, handedTo: state.handedTo[key])
            }
        }
        let actions = LinkClaims.plan(me: me, daemons: daemons, claims: claims)
        let wanted = actions.compactMap { if case .take(let key) = $0 { key } else { nil } }
        let letGo = actions.compactMap { if case .release(let key, let to) = $0 { (key, to) } else { nil } }
        var taken: Set<Int32> = []
        if !wanted.isEmpty {
            let result = try connection.query(
                "SELECT k, pg_try_advisory_lock($1::int, k) FROM unnest($2::int[]) AS k",
                [String(AdvisoryKey.linkClass), PostgresArray.literal(wanted.map { Int64($0) })], label: "take links")
            for row in result.rows where row[1] == "t" {
                if let key = row[0].flatMap({ Int32($0) }) { taken.insert(key) }
            }
        }
        if !letGo.isEmpty {
            _ = try connection.query(
                "SELECT pg_advisory_unlock($1::int, k) FROM unnest($2::int[]) AS k",
                [String(AdvisoryKey.linkClass), PostgresArray.literal(letGo.map { Int64($0.0) })], label: "let links go")
        }
        let released = Set(letGo.map(\.0))
        state.withLock { state in
            var held = Set(holders.filter { $0.value == .me }.keys)
            held.formUnion(taken)
            held.subtract(released)
            state.held = held
            for key in taken { state.takes[key, default: 0] += 1 }
            for (key, to) in letGo { if let to { state.handedTo[key] = to } }
            for key in keys where holders[key] == .other { state.handedTo[key] = nil }
            let free = Set(keys.filter { (holders[$0] ?? .free) == .free && !taken.contains($0) })
            state.freeSince = Dictionary(uniqueKeysWithValues: free.map { ($0, state.freeSince[$0] ?? now) })
            state.awaitingHandOver = keys.contains { key in
                !held.contains(key) && LinkClaims.preferred(key: ranks[key] ?? key, daemons: daemons) == me
                    && reachable[key] ?? true
            }
            state.lookedAt = .now
        }
        let takenSources = sources.filter { taken.contains($0.key) }.map(\.name)
        // Alone, a daemon holds every link: only the sharing is worth a line.
        if daemons.count > 1 {
            if !takenSources.isEmpty {
                logger.info("links taken", ["sources": takenSources.joined(separator: ","), "daemon": identity.name])
            }
            let handedOver = sources.filter { released.contains($0.key) }.map(\.name)
            if !handedOver.isEmpty {
                logger.info("links let go", ["sources": handedOver.joined(separator: ","), "daemon": identity.name])
            }
        }
        return takenSources
    }

    static let readLocks = """
        SELECT classid::bigint, objid::bigint, pid = pg_backend_pid()
        FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid::bigint IN ($1::bigint, $2::bigint)
        """
}
