import DaemonKit
import Foundation
import MergeCore
import Postgres

/// Delivery from one source site to one target site. Each link keeps its own cursor and runs
/// independently, so a slow or unreachable site holds up only the links that touch it.
actor Link {
    /// The outcome of one call to `deliverPending`.
    struct Round: Sendable {
        var changes = 0
        var batches = 0
        var caughtUp = false
        var busy = false
    }

    let source: SiteHandle
    let target: SiteHandle
    private let logger: Logger
    private let stats: EngineStats
    private let batchSize: Int
    private let stopping: @Sendable () -> Bool
    /// Which rows of the source's pages go to the target (CONTRACT §8).
    private let routes: RouteShares
    /// The links into the target this daemon holds, shared with the other daemons (guarantee 8).
    private let ownership: LinkOwnership
    private let claimKey: Int32
    /// How many times this daemon had taken the link when it last read the cursor.
    private var takenAt: Int?

    /// The cursor as stored at the target (nil: none yet); `current` may be ahead of it by
    /// windows that delivered nothing and were not worth a write.
    private var persisted: LinkCursor?
    private var current: LinkCursor?
    private var loaded = false
    /// Pages with nothing for the target (every row routed away) move `current` without a
    /// transaction at the target: a hub's every page reaches every store's link, and most have
    /// nothing for it. The cursor is stored with the next batch, or by itself `cursorStoreDelay`
    /// after the first such page (for pruning, `status` and `verify`), whichever comes first.
    private var unstored: (since: ContinuousClock.Instant, records: Int)?
    private var cursorStoreArmed = false
    static let cursorStoreDelay = Duration.milliseconds(500)
    private var busy = false
    /// The greatest id of the target's follows whose rows this source has copied there
    /// (`omnisync.cursors.follows_copied`).
    private var followsCopied: Int64 = 0
    /// Retries asked for by a person are looked for every few seconds, not on every round.
    private var lastRetryCheck = ContinuousClock.now - .seconds(60)
    /// Whether the target holds no quarantined row of this source (checked with the retries):
    /// then a batch needs no quarantine look-up, one round trip less on the latency path.
    private var quarantineEmpty = false
    /// Rows of this link set aside at the target because an application holds them locked
    /// (guarantee 10). While there are any, the link tries them again on its own, every
    /// `lockRetryFirst` at first and backing off to `lockRetryLongest`, so a row follows within
    /// moments of its release even when nothing else is written.
    private var lockWaits = 0
    private var lockRetryDelay = Link.lockRetryFirst
    private var nextLockRetry = ContinuousClock.now
    private var lockRetryArmed = false
    static let lockRetryFirst = Duration.milliseconds(100)
    static let lockRetryLongest = Duration.milliseconds(500)
    /// A failure that is neither a lost connection nor transient (a missing grant, a missing
    /// table), while it lasts: logged when it starts or changes, then every `failureReminder`.
    private var failing: (reason: String, since: ContinuousClock.Instant, rounds: Int, logged: ContinuousClock.Instant)?
    static let failureReminder = Duration.seconds(60)

    nonisolated let progress = LinkProgress()
    nonisolated let wakes: AsyncStream<Void>
    private nonisolated let wakeContinuation: AsyncStream<Void>.Continuation

    init(
        source: SiteHandle, target: SiteHandle, logger: Logger, stats: EngineStats, batchSize: Int,
        routes: RouteShares, ownership: LinkOwnership, stopping: @escaping @Sendable () -> Bool
    ) {
        self.routes = routes
        self.ownership = ownership
        self.claimKey = AdvisoryKey.link(source: source.name)
        self.source = source
        self.target = target
        self.logger = logger.with([LogKey.site: target.name, LogKey.peer: source.name])
        self.stats = stats
        self.batchSize = batchSize
        self.stopping = stopping
        (wakes, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    nonisolated var name: String { "\(source.name)>\(target.name)" }

    /// The generated tables as the sites' sessions found them installed (read afresh each time:
    /// a site's first session may add declared tables).
    private nonisolated var tables: GeneratedTables { source.installed.current }

    /// The target's share of a batch read from the source.
    private func share(of batch: ChangeBatch) -> ChangeBatch {
        guard !routes.isEverywhere || routes.router.hasHubs else { return batch }
        return routes.share(
            of: batch, from: source.name, to: target.name, tables: tables, sourceFollows: source.follows.current.index,
            targetFollows: target.follows.current.index)
    }

    /// Asks the link's loop to look for changes (coalesced: many wakes, one round).
    nonisolated func wake() { wakeContinuation.yield() }

    nonisolated func finish() { wakeContinuation.finish() }

    /// Delivers batches until the source has nothing more for this target, the daemon stops,
    /// or a site fails. Errors are logged here and leave the cursor where it was.
    func deliverPending() async -> Round {
        guard !busy else { return Round(busy: true) }
        busy = true
        progress.started()
        var round = Round()
        defer {
            busy = false
            progress.finished(caughtUp: round.caughtUp)
            armLockRetry()
        }
        do throws(SideFailure) {
            if try await holdsLink() {
                try await deliver(&round)
            } else {
                // Another daemon holds the link (guarantee 8): nothing is pending here.
                round.caughtUp = true
            }
            deliveryRecovered()
        } catch {
            handle(error)
        }
        return round
    }

    /// Whether this daemon holds the link now (taking it if it is its to take). A link taken
    /// again reads its cursor afresh: another daemon may have moved it meanwhile.
    private func holdsLink() async throws(SideFailure) -> Bool {
        let (ownership, key) = (self.ownership, claimKey)
        let claim = try await onTarget { try ownership.ensure($0, key: key) }
        guard claim.held else { return false }
        if claim.takes != takenAt {
            reset()
            takenAt = claim.takes
            lastRetryCheck = .now - .seconds(60)
        }
        return true
    }

    /// Whether this daemon held the link at its last look (no I/O).
    nonisolated var isHeld: Bool { ownership.claim(of: claimKey).held }

    /// The cursor stored at the target, for pruning the source's outbox: as this link last
    /// stored it while it holds the link, otherwise as read from the target now (another daemon
    /// moves it); nil when unknown.
    func pruningPosition() async -> LinkCursor? {
        if isHeld, loaded { return persisted }
        let sourceName = source.name
        return try? await onTarget { try Applier.readCursor($0, source: sourceName) }
    }

    /// One round's steps; ends early (the round is over) when another daemon moved the cursor.
    private func deliver(_ round: inout Round) async throws(SideFailure) {
        if !loaded {
            let (sourceName, follows) = (source.name, routes.hasFollowRoutes)
            (persisted, followsCopied) = try await onTarget { connection in
                let cursor = try Applier.readCursor(connection, source: sourceName)
                // Only a follow route needs to know how far the follows were copied.
                guard follows else { return (cursor, 0) }
                let copied = try connection.query(FollowBook.selectCopied, [sourceName], label: "read follows copied")
                return (cursor, copied.rows.first?[0].flatMap { Int64($0) } ?? 0)
            }
            current = persisted
            loaded = true
        }
        if current == nil {
            guard try await bootstrap() == .kept else { return }
        }
        if routes.hasFollowRoutes { try await keepUpWithFollows() }
        if ContinuousClock.now - lastRetryCheck > .seconds(2) {
            lastRetryCheck = .now
            try await retryQuarantined()
        }
        if lockWaits > 0, ContinuousClock.now >= nextLockRetry {
            try await retryLockWaits()
        }
        // A link let go to another daemon mid-round stops at the next page.
        while !stopping(), isHeld, let cursor = current {
            guard case .delivered(let changes, let caughtUp) = try await deliverPage(after: cursor) else { return }
            round.changes += changes
            round.batches += changes > 0 ? 1 : 0
            if caughtUp {
                round.caughtUp = true
                break
            }
        }
        if isHeld { try await storeCursor(force: false) }
    }

    /// Stores the cursor that pages with nothing for the target moved, once it has waited
    /// `cursorStoreDelay` (at once with `force`); otherwise makes sure the link wakes then.
    private func storeCursor(force: Bool) async throws(SideFailure) {
        guard let pending = unstored else { return }
        guard let next = current, next != persisted else {
            unstored = nil
            return
        }
        let waited = ContinuousClock.now - pending.since
        guard force || waited >= Link.cursorStoreDelay else {
            armCursorStore(after: Link.cursorStoreDelay - waited)
            return
        }
        let stored = try await applyBatch(
            ChangeBatch(), cursor: CursorUpdate(source: source.name, expected: persisted, next: next, delivered: pending.records))
        unstored = nil
        if case .cursorMoved(let actual) = stored {
            _ = adopt(movedCursor: actual)
            return
        }
        persisted = next
    }

    private func armCursorStore(after delay: Duration) {
        guard !cursorStoreArmed, !stopping() else { return }
        cursorStoreArmed = true
        Task { [weak self] in
            try? await Task.sleep(for: max(delay, .milliseconds(10)))
            await self?.cursorStoreDue()
        }
    }

    private func cursorStoreDue() {
        cursorStoreArmed = false
        wake()
    }

    /// Stores at once a cursor that pages with nothing for the target moved (the end of
    /// `SyncEngine.syncOnce`, so that what it leaves is what `status` and `verify` read).
    func storeMovedCursor() async {
        guard !busy, isHeld, unstored != nil else { return }
        busy = true
        defer { busy = false }
        do throws(SideFailure) {
            try await storeCursor(force: true)
        } catch {
            handle(error)
        }
    }

    /// Whether a step left the link's cursor where the link expects it.
    private enum CursorFate: Equatable {
        case kept
        /// Another daemon had moved it: the step's transaction was rolled back and the link now
        /// holds the cursor that daemon stored.
        case moved
    }

    /// Takes the cursor another daemon stored (a batch found it moved and rolled back).
    private func adopt(movedCursor actual: LinkCursor?) -> CursorFate {
        logger.debug("cursor moved by another daemon", ["cursor": actual?.description ?? "none"])
        persisted = actual
        current = actual
        unstored = nil
        return .moved
    }

    /// Forgets the in-memory cursor so that the next round reads it from the target again.
    func reset() {
        loaded = false
        persisted = nil
        current = nil
        unstored = nil
    }

    /// The cursor stored at the target, if known (pruning the source's outbox needs it).
    var storedCursor: LinkCursor? { loaded ? persisted : nil }

    // MARK: - Steps

    /// What delivering one page did.
    private enum PageStep {
        /// The page's changes were applied (or it was empty); `caughtUp`: the source has no more.
        case delivered(changes: Int, caughtUp: Bool)
        /// Another daemon had moved the cursor; nothing was applied and the round ends.
        case cursorMoved
    }

    /// Reads the page after `cursor` (or takes it from a link of the same source that just read
    /// it) and applies it.
    private func deliverPage(after cursor: LinkCursor) async throws(SideFailure) -> PageStep {
        let limit = batchSize
        let pages = source.pages
        let tables = self.tables
        let page = try await onSource { connection in
            // Runs on the source's feed thread, after any read another link queued first.
            if let shared = pages.page(after: cursor, limit: limit) { return shared }
            let generation = pages.generation
            let page = try ChangeFeed.readPage(connection, after: cursor, limit: limit, tables: tables)
            pages.store(page, after: cursor, limit: limit, generation: generation)
            return page
        }
        if page.records.isEmpty {
            if cursor.window != nil, persisted == cursor {
                // The window's last page was exactly full: store that it is complete, or
                // the source's outbox could not be pruned below it until it writes again.
                let stored = try await applyBatch(ChangeBatch(), cursor: CursorUpdate(
                    source: source.name, expected: persisted, next: page.next, delivered: 0))
                if case .cursorMoved(let actual) = stored {
                    _ = adopt(movedCursor: actual)
                    return .cursorMoved
                }
                persisted = page.next
            }
            current = page.next
            return .delivered(changes: 0, caughtUp: true)
        }
        guard try await apply(page) == .kept else { return .cursorMoved }
        return .delivered(changes: page.records.count, caughtUp: page.next.window == nil)
    }

    private func apply(_ page: ChangePage) async throws(SideFailure) -> CursorFate {
        let batch = share(of: page.batch)
        if batch.isEmpty, !page.batch.isEmpty {
            // Everything routed away from the target: the cursor moves, and is stored later (`unstored`).
            unstored = (unstored?.since ?? .now, (unstored?.records ?? 0) + page.records.count)
            current = page.next
            progress.stepped()
            return .kept
        }
        let update = CursorUpdate(
            source: source.name, expected: persisted, next: page.next,
            delivered: page.records.count + (unstored?.records ?? 0))
        let started = ContinuousClock.now
        let outcome: ApplyOutcome
        switch try await applyBatch(batch, cursor: update) {
        case .applied(let applied): outcome = applied
        case .cursorMoved(let actual): return adopt(movedCursor: actual)
        }
        unstored = nil
        let seconds = (ContinuousClock.now - started).seconds
        progress.stepped()
        persisted = page.next
        current = page.next
        stats.recordBatch(
            source: source.name, target: target.name, changes: page.records.count, rowsWritten: outcome.rowsWritten,
            seconds: seconds)
        if logger.isEnabled(.debug) {
            logger.debug(
                "batch applied",
                [
                    LogKey.changes: page.records.count, LogKey.rows: outcome.rowsWritten,
                    "routed_away": outcome.routedAway, "returned": outcome.returned,
                    LogKey.durationMs: String(format: "%.1f", seconds * 1000),
                ])
        }
        report(outcome: outcome)
        return .kept
    }

    /// Applies a batch (and the cursor, if any) at the target; when a row's values make it fail,
    /// isolates that row instead of stalling the link.
    private func applyBatch(
        _ batch: ChangeBatch, cursor: CursorUpdate?, quarantine: [QuarantineEntry] = []
    ) async throws(SideFailure) -> ApplyResult {
        let (targetName, sourceName) = (target.name, source.name)
        let result: ApplyResult
        do {
            let lookUp = !quarantineEmpty || !quarantine.isEmpty || !batch.rejected.isEmpty
            let tables = self.tables
            result = try await onTarget {
                try Applier.apply(
                    $0, target: targetName, source: sourceName, batch: batch, cursor: cursor, quarantine: quarantine,
                    lookUpQuarantine: lookUp, tables: tables)
            }
        } catch {
            guard let cause = error.rowError else { throw error }
            quarantineEmpty = false
            return try await isolate(batch, cursor: cursor, quarantine: quarantine, cause: cause)
        }
        if case .applied(let outcome) = result, !outcome.newlyQuarantined.isEmpty { quarantineEmpty = false }
        return result
    }

    /// Applies a batch without a cursor (a retry, a bootstrap page): it cannot find one moved.
    private func applyUncursored(
        _ batch: ChangeBatch, quarantine: [QuarantineEntry] = []
    ) async throws(SideFailure) -> ApplyOutcome {
        guard case .applied(let outcome) = try await applyBatch(batch, cursor: nil, quarantine: quarantine) else {
            return ApplyOutcome()
        }
        return outcome
    }

    /// A batch that a row's values made fail: apply row by row, quarantine the rows that fail,
    /// then advance the cursor past the batch. Every other row keeps flowing.
    private func isolate(
        _ batch: ChangeBatch, cursor: CursorUpdate?, quarantine: [QuarantineEntry], cause: PostgresError
    ) async throws(SideFailure) -> ApplyResult {
        logger.info("batch failed, applying row by row", [LogKey.error: cause.summary])
        let (targetName, sourceName) = (target.name, source.name)
        let tables = self.tables
        var failed: [QuarantineEntry] = []
        var total = ApplyOutcome()
        // Every row of the batch on its own: v1's tables, then those whose capture is generated.
        var singles: [(tableID: Int, key: RowKey, batch: ChangeBatch)] = []
        for table in batch.states.keys.sorted() {
            for (key, state) in (batch.states[table] ?? [:]).sorted(by: { $0.key < $1.key }) {
                var single = ChangeBatch(states: [table: [key: state]])
                if batch.heldOnlyRows[table]?.contains(key) == true { single.heldOnlyRows[table] = [key] }
                if batch.returnIfAheadRows[table]?.contains(key) == true { single.returnIfAheadRows[table] = [key] }
                single.followedRows[table] = batch.followedRows[table]
                singles.append((table.rawValue, key, single))
            }
        }
        for id in batch.declared.keys.sorted() {
            for (key, state) in (batch.declared[id] ?? [:]).sorted(by: { ApplyPlanner.keyPrecedes($0.key, $1.key) }) {
                var single = ChangeBatch(declared: [id: [key: state]])
                if batch.heldOnly[id]?.contains(key) == true { single.heldOnly[id] = [key] }
                if batch.returnIfAhead[id]?.contains(key) == true { single.returnIfAhead[id] = [key] }
                single.followed[id] = batch.followed[id]
                singles.append((id, RowKey(parts: key), single))
            }
        }
        for (tableID, key, single) in singles {
            do throws(SideFailure) {
                let result = try await onTarget {
                    try Applier.apply($0, target: targetName, source: sourceName, batch: single, cursor: nil, tables: tables)
                }
                // Without a cursor there is no compare-and-set to find moved.
                guard case .applied(let outcome) = result else { continue }
                total.rowsWritten += outcome.rowsWritten
                total.newConflicts += outcome.newConflicts
                total.newlyQuarantined += outcome.newlyQuarantined
                total.newlySetAside += outcome.newlySetAside
                total.lockReleased += outcome.lockReleased
                total.waitingOnLock += outcome.waitingOnLock
            } catch {
                guard let rowError = error.rowError else { throw error }
                failed.append(
                    QuarantineEntry(tableID: tableID, key: key, reason: rowError.description, loggedReason: rowError.summary))
            }
        }
        let remainder = ChangeBatch(states: [:], rejected: batch.rejected)
        let entries = quarantine + failed
        let last = try await onTarget {
            try Applier.apply(
                $0, target: targetName, source: sourceName, batch: remainder, cursor: cursor, quarantine: entries, tables: tables)
        }
        guard case .applied(let outcome) = last else { return last }
        total.newlyQuarantined += outcome.newlyQuarantined
        return .applied(total)
    }

    /// Ships again the current state of rows a person asked to retry.
    private func retryQuarantined() async throws(SideFailure) {
        let sourceName = source.name
        let tables = self.tables
        let (held, records) = try await onTarget {
            (try Quarantine.count($0, source: sourceName), try Quarantine.retries($0, source: sourceName, tables: tables))
        }
        quarantineEmpty = held.all == 0
        setLockWaits(held.waitingOnLock)
        guard !records.isEmpty else { return }
        let batch = share(of: try await onSource { try ChangeFeed.readStates($0, records: records, tables: tables) })
        let outcome = try await applyUncursored(batch)
        logger.notice("quarantine retried", [LogKey.count: records.count, "released": outcome.released])
        report(outcome: outcome)
    }

    /// Tries again the rows waiting on a lock: ships their current state (which holds every
    /// change the cursor has passed) and applies it without waiting; those still locked stay.
    private func retryLockWaits() async throws(SideFailure) {
        // The next try is scheduled before this one: a site that fails it does not make a tight loop.
        lockRetryDelay = min(lockRetryDelay * 2, Link.lockRetryLongest)
        nextLockRetry = .now + lockRetryDelay
        let sourceName = source.name
        let tables = self.tables
        let records = try await onTarget { try Quarantine.lockWaits($0, source: sourceName, tables: tables) }
        var still = 0
        if !records.isEmpty {
            let batch = share(of: try await onSource { try ChangeFeed.readStates($0, records: records, tables: tables) })
            let outcome = try await applyUncursored(batch)
            report(outcome: outcome)
            still = outcome.waitingOnLock
            if !outcome.lockReleased.isEmpty {
                lockRetryDelay = Link.lockRetryFirst
                nextLockRetry = .now + lockRetryDelay
            }
        }
        setLockWaits(still)
    }

    private func setLockWaits(_ count: Int) {
        if count > 0, lockWaits == 0 {
            lockRetryDelay = Link.lockRetryFirst
            nextLockRetry = .now + lockRetryDelay
        }
        lockWaits = count
        stats.recordLockWaits(source: source.name, target: target.name, count: count)
    }

    /// While rows wait on a lock, wakes the link for its next retry (one timer at a time). Not
    /// while one of its sites is down: its return wakes the link anyway.
    private func armLockRetry() {
        guard lockWaits > 0, !lockRetryArmed, !stopping(), source.health.isUp, target.health.isUp else { return }
        lockRetryArmed = true
        let delay = max(nextLockRetry - .now, .milliseconds(10))
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.lockRetryDue()
        }
    }

    private func lockRetryDue() {
        lockRetryArmed = false
        wake()
    }

    private func report(outcome: ApplyOutcome) {
        let tables = self.tables
        for key in outcome.newlySetAside {
            let table = tables.name(ofTable: key.tableID)
            logger.info("row set aside, locked at site", ["table": table ?? "table_id \(key.tableID)"])
            if logger.isEnabled(.debug) {
                logger.debug(
                    "row set aside, key", ["table": table ?? "table_id \(key.tableID)", LogKey.key: key.description(in: tables)])
            }
        }
        for key in outcome.lockReleased {
            let table = tables.name(ofTable: key.tableID)
            logger.info("row released, lock gone", ["table": table ?? "table_id \(key.tableID)"])
        }
        if !outcome.newlySetAside.isEmpty || !outcome.lockReleased.isEmpty {
            quarantineEmpty = false
            setLockWaits(max(0, lockWaits + outcome.newlySetAside.count - outcome.lockReleased.count))
        }
        for conflict in outcome.newConflicts {
            stats.recordConflict(site: target.name, kind: conflict.kind)
            logger.warning(
                "conflict recorded",
                [
                    LogKey.kind: conflict.kind.rawValue, "id": conflict.id, "table": conflict.tableName,
                    LogKey.key: conflict.keyJSON, "detail": conflict.detail,
                ])
        }
        for entry in outcome.newlyQuarantined {
            logger.warning(
                "row quarantined",
                [
                    "table": tables.name(ofTable: entry.tableID) ?? "table_id \(entry.tableID)",
                    LogKey.key: tables.keyJSON(ofTable: entry.tableID, entry.key) ?? entry.key.description,
                    "reason": entry.loggedReason,
                ])
        }
        if !outcome.newlyQuarantined.isEmpty { stats.recordQuarantined(outcome.newlyQuarantined.count) }
    }

    /// A new peer: copy every current state of the source (states are joins, so a full copy is
    /// always safe), then stream the outbox from the snapshot taken before the copy.
    private func bootstrap() async throws(SideFailure) -> CursorFate {
        let started = ContinuousClock.now
        // The follows as they are before the copy: the copy brings their rows.
        let follows = routes.hasFollowRoutes ? try await targetFollows() : nil
        let snapshot = try await onSource { connection in
            try connection.query("SELECT pg_current_snapshot()::text", label: "bootstrap snapshot").rows.first?[0] ?? "1:1:"
        }
        let (targetName, sourceName) = (target.name, source.name)
        let limit = batchSize
        var copied = 0
        for table in ReplicatedTable.allCases {
            var after: RowKey?
            while !stopping() {
                let from = after
                let page = try await onSource { try ChangeFeed.readStatePage($0, table: table, after: from, limit: limit) }
                if !page.states.isEmpty || !page.rejected.isEmpty {
                    let batch = share(of: ChangeBatch(states: [table: page.states]))
                    let unreadable = page.rejected.map { QuarantineEntry(tableID: table.rawValue, key: $0.0, reason: $0.1) }
                    let outcome = try await applyUncursored(batch, quarantine: unreadable)
                    report(outcome: outcome)
                    copied += page.states.count
                    // A long first copy is progress too: the watchdog must not fire during it.
                    progress.stepped()
                }
                guard page.rows == limit, let last = page.last else { break }
                after = last
            }
        }
        let tables = self.tables
        for id in tables.ids {
            guard let applier = tables.applier(id) else { continue }
            var after: [String]?
            while !stopping() {
                let from = after
                let page = try await onSource { try applier.readStatePage($0, after: from, limit: limit) }
                if !page.states.states.isEmpty || !page.states.unreadable.isEmpty {
                    let batch = share(of: ChangeBatch(declared: [id: page.states.states]))
                    let unreadable = page.states.unreadable.map {
                        QuarantineEntry(tableID: id, key: RowKey(parts: $0.key), reason: $0.reason)
                    }
                    let outcome = try await applyUncursored(batch, quarantine: unreadable)
                    report(outcome: outcome)
                    copied += page.states.states.count
                    progress.stepped()
                }
                guard page.rows == limit, let last = page.last else { break }
                after = last
            }
        }
        if stopping() { return .kept }
        let first = CursorUpdate(source: source.name, expected: nil, next: LinkCursor(done: snapshot), delivered: 0)
        let stored = try await onTarget {
            try Applier.apply($0, target: targetName, source: sourceName, batch: ChangeBatch(), cursor: first, tables: tables)
        }
        if case .cursorMoved(let actual) = stored { return adopt(movedCursor: actual) }
        persisted = first.next
        current = first.next
        if let follows, follows.maxID > followsCopied { try await storeFollowsCopied(follows.maxID) }
        logger.info(
            "peer bootstrapped",
            [LogKey.rows: copied, LogKey.durationMs: String(format: "%.1f", (ContinuousClock.now - started).seconds * 1000)])
        return .kept
    }

    // MARK: - Follows

    /// What the target follows, read again if it may have changed since.
    private func targetFollows() async throws(SideFailure) -> FollowBook.View {
        let book = target.follows
        if let fresh = book.fresh { return fresh }
        let generation = book.generation
        let read = try await onTarget { try FollowBook.read($0) }
        book.store(follows: read.follows, unfollowed: read.unfollowed, generation: generation)
        return book.current
    }

    /// Brings the rows of the target's new follows from this source — written long before, and
    /// passed over while the value was not followed — and takes away from the target the rows of
    /// values it unfollowed, except those it wrote (CONTRACT §8).
    private func keepUpWithFollows() async throws(SideFailure) {
        let view = try await targetFollows()
        let tables = self.tables
        if !view.unfollowed.isEmpty {
            let (targetName, routes) = (target.name, self.routes)
            let removed = try await onTarget { connection in
                try connection.transaction(label: "remove unfollowed rows") { transaction throws(PostgresError) -> Int in
                    var removed = 0
                    for follow in view.unfollowed {
                        for (id, column) in routes.followed(namespace: follow.namespace, tables: tables) {
                            guard let applier = tables.applier(id) else { continue }
                            removed += try applier.removeUnwritten(transaction, keyColumn: column, values: [follow.value], site: targetName)
                        }
                        for (table, column) in routes.followedRetailTables(namespace: follow.namespace) {
                            removed += try ChangeFeed.removeUnwritten(
                                transaction, table: table, keyColumn: column, values: [follow.value], site: targetName)
                        }
                        try transaction.query(FollowBook.forget, [String(follow.id)], label: "forget unfollow")
                    }
                    return removed
                }
            }
            target.follows.invalidate()
            logger.info("unfollowed rows removed", [LogKey.count: view.unfollowed.count, LogKey.rows: removed])
        }
        let new = view.follows.filter { $0.id > followsCopied }
        guard let newest = new.map(\.id).max() else { return }
        var copied = 0
        for namespace in Set(new.map(\.namespace)).sorted() {
            let values = new.filter { $0.namespace == namespace }.map(\.value)
            for (id, column) in routes.followed(namespace: namespace, tables: tables) {
                guard let applier = tables.applier(id) else { continue }
                let read = try await onSource { try applier.readStates($0, keyColumn: column, values: values) }
                guard !read.states.isEmpty || !read.unreadable.isEmpty else { continue }
                let unreadable = read.unreadable.map { QuarantineEntry(tableID: id, key: RowKey(parts: $0.key), reason: $0.reason) }
                let outcome = try await applyUncursored(share(of: ChangeBatch(declared: [id: read.states])), quarantine: unreadable)
                report(outcome: outcome)
                copied += read.states.count
            }
            for (table, column) in routes.followedRetailTables(namespace: namespace) {
                let read = try await onSource { try ChangeFeed.readStates($0, table: table, keyColumn: column, values: values) }
                guard !read.states.isEmpty || !read.rejected.isEmpty else { continue }
                let unreadable = read.rejected.map { QuarantineEntry(tableID: table.rawValue, key: $0.0, reason: $0.1) }
                let outcome = try await applyUncursored(share(of: ChangeBatch(states: [table: read.states])), quarantine: unreadable)
                report(outcome: outcome)
                copied += read.states.count
            }
        }
        try await storeFollowsCopied(newest)
        logger.info("followed rows copied", [LogKey.count: new.count, LogKey.rows: copied])
    }

    private func storeFollowsCopied(_ id: Int64) async throws(SideFailure) {
        let sourceName = source.name
        try await onTarget { connection in
            _ = try connection.query(FollowBook.storeCopied, [sourceName, String(id)], label: "store follows copied")
        }
        followsCopied = max(followsCopied, id)
    }

    // MARK: - Failures

    /// Which side of the link failed and why, so the right site is marked down.
    struct SideFailure: Error {
        let site: SiteHandle
        let cause: SiteFailure

        /// The statement error caused by one row's values, if that is what failed (the row is
        /// then isolated and quarantined).
        var rowError: PostgresError? {
            guard case .postgres(let error) = cause, Quarantine.isRowError(error) else { return nil }
            return error
        }
    }

    private func onSource<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws(SideFailure) -> T {
        do {
            let value = try await source.run(source.feed, body)
            source.health.markUp()
            return value
        } catch {
            throw SideFailure(site: source, cause: error)
        }
    }

    private func onTarget<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws(SideFailure) -> T {
        do {
            let value = try await target.run(target.apply, body)
            target.health.markUp()
            return value
        } catch {
            throw SideFailure(site: target, cause: error)
        }
    }

    private func handle(_ failure: SideFailure) {
        switch failure.cause {
        case .misconfigured(let problem):
            failure.site.health.markMisconfigured(problem)
        case .postgres(let error) where error.category == .connection:
            failure.site.health.markDown(error)
        case .postgres(let error) where error.isTransient:
            // Deadlock, lock timeout, serialization: the next round retries the same batch.
            logger.info("batch retried later", [LogKey.error: error.summary])
        case .postgres(let error):
            deliveryFailed(error, at: failure.site)
        }
    }

    /// A failure that retrying alone will not cure (a missing grant or table): the link retries
    /// its pending work from the stored cursor every round, but says so only when the failure
    /// starts or changes, and then once every `failureReminder` with the rounds failed so far.
    private func deliveryFailed(_ error: PostgresError, at site: SiteHandle) {
        let now = ContinuousClock.now
        // Without the DETAIL: it may quote a row.
        let reason = error.summary
        var state = failing ?? (reason, now, 0, now)
        let changed = failing == nil || state.reason != reason
        if changed { state = (reason, now, 0, now) }
        state.rounds += 1
        let remind = !changed && now - state.logged >= Link.failureReminder
        if changed || remind {
            state.logged = now
            logger.warning(
                "delivery failed, retrying every round",
                [
                    "at": site.name, LogKey.error: reason, "failed_rounds": state.rounds,
                    "failing_s": String(format: "%.0f", (now - state.since).seconds),
                ])
        }
        failing = state
    }

    /// A round went through: a delivery failure that was logged is over.
    private func deliveryRecovered() {
        guard let state = failing else { return }
        failing = nil
        logger.info(
            "delivery resumed",
            ["failed_rounds": state.rounds, "failing_s": String(format: "%.0f", (ContinuousClock.now - state.since).seconds)])
    }
}
