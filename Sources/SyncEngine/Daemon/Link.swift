import DaemonKit
import Foundation
import MergeCore
import Postgres
import Synchronization

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

    /// The cursor as stored at the target (nil: none yet); `current` may be ahead of it by
    /// windows that delivered nothing and were not worth a write.
    private var persisted: LinkCursor?
    private var current: LinkCursor?
    private var loaded = false
    private var busy = false

    nonisolated let progress = LinkProgress()
    nonisolated let wakes: AsyncStream<Void>
    private nonisolated let wakeContinuation: AsyncStream<Void>.Continuation

    init(
        source: SiteHandle, target: SiteHandle, logger: Logger, stats: EngineStats, batchSize: Int,
        stopping: @escaping @Sendable () -> Bool
    ) {
        self.source = source
        self.target = target
        self.logger = logger.with([LogKey.site: target.name, LogKey.peer: source.name])
        self.stats = stats
        self.batchSize = batchSize
        self.stopping = stopping
        (wakes, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    nonisolated var name: String { "\(source.name)>\(target.name)" }

    /// Asks the link's loop to look for changes (coalesced: many wakes, one round).
    nonisolated func wake() { wakeContinuation.yield() }

    nonisolated func finish() { wakeContinuation.finish() }

    /// Delivers batches until the source has nothing more for this target, the daemon stops,
    /// or a site fails. Errors are logged here and leave the cursor where it was.
    func deliverPending() async -> Round {
        guard !busy else { return Round(busy: true) }
        busy = true
        progress.started()
        defer {
            busy = false
            progress.finished()
        }
        var round = Round()
        do {
            if !loaded {
                let sourceName = source.name
                persisted = try await onTarget { try Applier.readCursor($0, source: sourceName) }
                current = persisted
                loaded = true
            }
            if current == nil {
                try await bootstrap()
            }
            while !stopping(), let cursor = current {
                let limit = batchSize
                let page = try await onSource { try ChangeFeed.readPage($0, after: cursor, limit: limit) }
                if page.records.isEmpty {
                    current = page.next
                    round.caughtUp = true
                    break
                }
                try await apply(page)
                round.changes += page.records.count
                round.batches += 1
                if page.next.window == nil {
                    round.caughtUp = true
                    break
                }
            }
        } catch let moved as CursorMoved {
            logger.debug("cursor moved by another daemon", ["cursor": moved.actual?.description ?? "none"])
            persisted = moved.actual
            current = moved.actual
        } catch let failure as SideFailure {
            handle(failure)
        } catch {
            logger.error("delivery failed", [LogKey.error: "\(error)"])
        }
        return round
    }

    /// Forgets the in-memory cursor so that the next round reads it from the target again.
    func reset() {
        loaded = false
        persisted = nil
        current = nil
    }

    /// The cursor stored at the target, if known (pruning the source's outbox needs it).
    var storedCursor: LinkCursor? { loaded ? persisted : nil }

    // MARK: - Steps

    private func apply(_ page: ChangePage) async throws {
        let update = CursorUpdate(
            source: source.name, expected: persisted, next: page.next, delivered: page.records.count)
        let batch = page.batch
        let targetName = target.name
        let started = ContinuousClock.now
        let outcome = try await onTarget { try Applier.apply($0, target: targetName, batch: batch, cursor: update) }
        let seconds = (ContinuousClock.now - started).seconds
        progress.stepped()
        persisted = page.next
        current = page.next
        stats.recordBatch(
            source: source.name, target: target.name, changes: page.records.count, rowsWritten: outcome.rowsWritten,
            seconds: seconds)
        logger.debug(
            "batch applied",
            [
                LogKey.changes: page.records.count, LogKey.rows: outcome.rowsWritten,
                LogKey.durationMs: String(format: "%.1f", seconds * 1000),
            ])
        report(outcome: outcome, rejected: batch.rejected)
    }

    private func report(outcome: ApplyOutcome, rejected: [(record: OutboxRecord, reason: String)]) {
        for conflict in outcome.newConflicts {
            stats.recordConflict(site: target.name, kind: conflict.kind)
            logger.warning(
                "conflict recorded",
                [
                    LogKey.kind: conflict.kind.rawValue, "id": conflict.id, "table": conflict.table.name,
                    LogKey.key: conflict.key.json(for: conflict.table), "detail": conflict.detail,
                ])
        }
        for item in rejected {
            logger.warning(
                "change skipped", ["outbox_id": item.record.id, LogKey.key: item.record.key.description, "reason": item.reason])
        }
        for item in outcome.rejected {
            logger.warning("row skipped", ["table": item.table.name, LogKey.key: item.key.description, "reason": item.reason])
        }
        let skipped = rejected.count + outcome.rejected.count
        if skipped > 0 { stats.recordQuarantined(skipped) }
    }

    /// A new peer: copy every current state of the source (states are joins, so a full copy is
    /// always safe), then stream the outbox from the snapshot taken before the copy.
    private func bootstrap() async throws {
        let started = ContinuousClock.now
        let snapshot = try await onSource { connection in
            try connection.query("SELECT pg_current_snapshot()::text", label: "bootstrap snapshot").rows.first?[0] ?? "1:1:"
        }
        let targetName = target.name
        let limit = batchSize
        var copied = 0
        for table in ReplicatedTable.allCases {
            var after: RowKey?
            while !stopping() {
                let from = after
                let page = try await onSource { try ChangeFeed.readStatePage($0, table: table, after: from, limit: limit) }
                if !page.states.isEmpty {
                    let batch = ChangeBatch(states: [table: page.states])
                    let outcome = try await onTarget { try Applier.apply($0, target: targetName, batch: batch, cursor: nil) }
                    report(outcome: outcome, rejected: [])
                    copied += page.states.count
                    // A long first copy is progress too: the watchdog must not fire during it.
                    progress.stepped()
                }
                for (key, reason) in page.rejected {
                    logger.warning("row skipped", ["table": table.name, LogKey.key: key.description, "reason": reason])
                }
                guard page.rows == limit, let last = page.last else { break }
                after = last
            }
        }
        if stopping() { return }
        let first = CursorUpdate(source: source.name, expected: nil, next: LinkCursor(done: snapshot), delivered: 0)
        _ = try await onTarget { try Applier.apply($0, target: targetName, batch: ChangeBatch(), cursor: first) }
        persisted = first.next
        current = first.next
        logger.info(
            "peer bootstrapped",
            [LogKey.rows: copied, LogKey.durationMs: String(format: "%.1f", (ContinuousClock.now - started).seconds * 1000)])
    }

    // MARK: - Failures

    /// Which side of the link failed, so the right site is marked down.
    struct SideFailure: Error {
        let site: SiteHandle
        let error: any Error
    }

    private func onSource<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            let value = try await source.run(source.feed, body)
            source.health.markUp()
            return value
        } catch let error as PostgresError where error.isTransient {
            throw SideFailure(site: source, error: error)
        } catch let problem as SiteProblem {
            throw SideFailure(site: source, error: problem)
        }
    }

    private func onTarget<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            let value = try await target.run(target.apply, body)
            target.health.markUp()
            return value
        } catch let error as PostgresError where error.isTransient {
            throw SideFailure(site: target, error: error)
        } catch let problem as SiteProblem {
            throw SideFailure(site: target, error: problem)
        }
    }

    private func handle(_ failure: SideFailure) {
        if let problem = failure.error as? SiteProblem {
            failure.site.health.markMisconfigured(problem)
        } else if let error = failure.error as? PostgresError, error.category == .connection {
            failure.site.health.markDown(error)
        } else {
            // Transient but not a lost connection (deadlock, lock timeout, serialization):
            // the next round retries the same batch.
            logger.info("batch retried later", [LogKey.error: "\(failure.error)"])
        }
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
