import MergeCore
import Synchronization

/// Counters the engine keeps for the periodic stats line, `STATUS=` and the metrics file.
final class EngineStats: Sendable {
    struct LinkCounters: Sendable, Equatable {
        var changes = 0
        var rowsWritten = 0
        var batches = 0
        var applySeconds = 0.0
        var lastBatchSeconds = 0.0
    }

    struct Snapshot: Sendable, Equatable {
        /// Keyed by "source>target".
        var links: [String: LinkCounters] = [:]
        /// Keyed by site, then conflict kind.
        var conflicts: [String: [ConflictKind: Int]] = [:]
        var quarantined = 0
        var rounds = 0
        /// Rows set aside at the target because an application holds them locked, by "source>target".
        var lockWaits: [String: Int] = [:]

        var totalChanges: Int { links.values.reduce(0) { $0 + $1.changes } }
        var totalConflicts: Int { conflicts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
    }

    private let state = Mutex(Snapshot())

    var snapshot: Snapshot { state.withLock { $0 } }

    func recordBatch(source: String, target: String, changes: Int, rowsWritten: Int, seconds: Double) {
        state.withLock {
            var counters = $0.links["\(source)>\(target)", default: LinkCounters()]
            counters.changes += changes
            counters.rowsWritten += rowsWritten
            counters.batches += 1
            counters.applySeconds += seconds
            counters.lastBatchSeconds = seconds
            $0.links["\(source)>\(target)"] = counters
        }
    }

    func recordConflict(site: String, kind: ConflictKind) {
        state.withLock { $0.conflicts[site, default: [:]][kind, default: 0] += 1 }
    }

    func recordLockWaits(source: String, target: String, count: Int) {
        state.withLock { $0.lockWaits["\(source)>\(target)"] = count }
    }

    func recordQuarantined(_ count: Int) {
        state.withLock { $0.quarantined += count }
    }
}
