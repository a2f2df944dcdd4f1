import DaemonKit
import Foundation
import Postgres
import Synchronization

/// One configured site: its connections (each on its own thread) and what the daemon knows of
/// its health. Reading a site's outbox and applying to it use separate connections, so a site
/// can be a source and a target at the same time.
final class SiteHandle: Sendable {
    let name: String
    let conninfo: String
    /// Reads this site's outbox and states (the site as a source).
    let feed: PostgresSession
    /// Applies other sites' changes here (the site as a target).
    let apply: PostgresSession
    let health: SiteHealth
    /// Pages of this site's outbox read by one of its links, for the others.
    let pages: SharedPages
    /// What this site follows, for the links into it and out of it.
    let follows: FollowBook
    /// The engine's generated tables, to which each verified session adds what it found installed.
    let installed: InstalledTables
    /// Backend PIDs of connections already checked by `SiteIdentity`.
    private let verifiedBackends = Mutex<Set<Int32>>([])

    /// Every daemon session: merged writes are not local changes (no echo); text forms of
    /// timestamps are the same at every site; a point-of-sale row lock is never waited on for long;
    /// no statement is compiled.
    ///
    /// Applied batches do not wait for their WAL flush (`synchronous_commit = off`): a batch and
    /// the cursor that covers it commit together, so a server crash can only lose both at once,
    /// and the batch is then delivered again — harmless, since every apply is a join. The
    /// applications' own commits keep the server's durability setting.
    /// The longest any daemon statement waits on a lock. Row locks held by applications are
    /// not waited on at all (`Applier.lockAndRead`); this bounds the rest (a table lock, a
    /// cursor row another daemon holds).
    static let lockTimeout = "2s"

    static let sessionSetup = [
        "SET omnisync.applying = 'on'",
        "SET TimeZone = 'UTC'",
        "SET DateStyle = 'ISO, YMD'",
        "SET lock_timeout = '\(lockTimeout)'",
        "SET synchronous_commit = off",
        // Short statements only: compiling one (JIT) took 80–120 ms, far more than running it.
        "SET jit = off",
    ]

    /// The feed session reads outbox pages in index order. Statistics are often stale there: a
    /// backlog builds up faster than autovacuum analyzes the outbox, and with a table it believes
    /// nearly empty the planner chose a bitmap scan and sorted the rest of the window for every
    /// page (measured: 40–60 ms per 1,000-record page of a 200,000-record backlog, instead of
    /// about 1 ms). No query of this session needs a bitmap scan or a large sort.
    static let feedSetup = sessionSetup + [
        "SET enable_bitmapscan = off",
        "SET enable_sort = off",
    ]

    /// `readers`: how many links read this site's outbox (one per other site).
    init(config: SiteConfig, logger: Logger, readers: Int, installed: InstalledTables) {
        self.installed = installed
        name = config.name
        conninfo = config.conninfo
        feed = PostgresSession(conninfo: config.conninfo, label: "\(config.name)/feed", setup: SiteHandle.feedSetup)
        apply = PostgresSession(conninfo: config.conninfo, label: "\(config.name)/apply", setup: SiteHandle.sessionSetup)
        health = SiteHealth(site: config.name, logger: logger)
        pages = SharedPages(readers: readers)
        follows = FollowBook(site: config.name)
    }

    /// Runs `body` on the session's own thread after making sure the connection is this site's.
    /// A database that is not this site's (or not migrated) fails as `.misconfigured`.
    func run<T: Sendable>(
        _ session: PostgresSession, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws(SiteFailure) -> T {
        let checked: Result<T, SiteProblem>
        do {
            checked = try await session.withConnection { [self] connection throws -> Result<T, SiteProblem> in
                let pid = connection.backendPID
                if !verifiedBackends.withLock({ $0.contains(pid) }) {
                    if let problem = try SiteIdentity.problem(connection, site: name) { return .failure(problem) }
                    switch try DeclaredTableRecords.read(connection, site: name, catalog: installed.catalog) {
                    case .failure(let problem):
                        return .failure(problem)
                    case .success(let declared):
                        if let message = installed.register(site: name, declared: declared) {
                            return .failure(SiteProblem(site: name, message: message))
                        }
                    }
                    verifiedBackends.withLock { _ = $0.insert(pid) }
                }
                return .success(try body(connection))
            }
        } catch let error as PostgresError {
            throw .postgres(error)
        } catch {
            // The session throws only PostgresErrors; the daemon's bodies run only statements. An
            // error of another kind is reported as a failed statement at this site, with its text.
            throw .postgres(PostgresError(category: .query, sqlState: nil, message: "\(error)", statement: "\(name)"))
        }
        switch checked {
        case .success(let value): return value
        case .failure(let problem): throw .misconfigured(problem)
        }
    }

    /// Shutdown: abandons connects under way and bounds statements still waiting for the server,
    /// so that a site that does not answer cannot hold the daemon's exit.
    func interrupt() {
        feed.interrupt()
        apply.interrupt()
    }

    func close() async {
        await feed.disconnect()
        await apply.disconnect()
    }
}
