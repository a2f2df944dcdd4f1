import Catalog
import MergeCore

/// What applying a batch of shipped states to one target must do, decided without I/O: the
/// driver reads the target's rows, asks the planner, and runs the statements the plan names
/// (postgres-nio's habit: decide in values, then act). Every decision is unit-tested.
///
/// Per row: a state that cannot be decoded, at the source or at the target, is quarantined with
/// the reason and its row left untouched — never skipped while the cursor moves; otherwise the two
/// states are joined, the state is written when the join changed it, the visible row is inserted,
/// updated or deleted to show the join, and the conflicts the join found are recorded. Applying
/// the same batch again plans nothing: joins are idempotent.
struct ApplyPlan: Sendable, Equatable {
    struct StateWrite: Sendable, Equatable {
        let key: [String]
        let state: [StateField]
    }

    /// The visible row to show: the value of every replicated column, in the table's order
    /// (`local` columns are not touched; an inserted row gets their defaults).
    struct VisibleWrite: Sendable, Equatable {
        let key: [String]
        let values: [String?]
        /// The target has no visible row for the key yet.
        let isInsert: Bool
    }

    struct Quarantine: Sendable, Equatable {
        let key: [String]
        let reason: String
    }

    /// A conflict found by a join, as the target records it. `id` is the same at every site that
    /// finds the same conflict.
    struct Conflict: Sendable, Equatable {
        let id: String
        let kind: String
        let key: [String]
        let column: String
        /// A JSON object.
        let detail: String
    }

    var stateWrites: [StateWrite] = []
    var visibleWrites: [VisibleWrite] = []
    var visibleDeletes: [[String]] = []
    var conflicts: [Conflict] = []
    var quarantined: [Quarantine] = []
    /// Rows whose merged values changed and that are present: the table's checks run on them.
    var changedRows: [[String]] = []
    /// Rows the target holds more of than a source not routed them sent: recorded in the
    /// target's outbox again, so that they reach the source (`RouteShares`).
    var returns: [[String]] = []

    var isEmpty: Bool {
        stateWrites.isEmpty && visibleWrites.isEmpty && visibleDeletes.isEmpty && conflicts.isEmpty && quarantined.isEmpty
            && returns.isEmpty
    }
}

/// What the target holds for one key, as the driver read it.
struct TargetRow: Sendable, Equatable {
    /// The stored state, nil when the target has none.
    let state: [StateField]?
    /// The visible row's replicated columns as capture stores them (the same text forms), nil when
    /// the target has no visible row.
    let visible: [String?]?
}

enum ApplyPlanner {
    /// - Parameters:
    ///   - returnIfAhead: keys whose source is not routed the row; where the join holds more than
    ///     the source sent, the plan returns the row to it.
    ///   - relays: the target relays what it learns (a hub, from a site that is not): a row whose
    ///     state the join changes is recorded again when this says others need it, given the key
    ///     and the merged row's writers.
    static func plan(
        table: CaptureTable, incoming: [[String]: [StateField]], target: [[String]: TargetRow],
        returnIfAhead: Set<[String]> = [], relays: ((_ key: [String], _ writers: Set<String>) -> Bool)? = nil
    ) -> ApplyPlan {
        var plan = ApplyPlan()
        let empty = table.emptyRow
        let columns = table.replicated.map(\.column)
        // Sorted, so that a plan is deterministic (the statements order their locks by the typed key).
        for key in incoming.keys.sorted(by: keyPrecedes) {
            guard let fields = incoming[key] else { continue }
            let arriving: ReplicatedRow
            do {
                arriving = try StateEncoding.decode(fields, empty: empty)
            } catch {
                plan.quarantined.append(.init(key: key, reason: "state at source: \(error)"))
                continue
            }
            let held = target[key]
            var current = empty
            if let stored = held?.state {
                do {
                    current = try StateEncoding.decode(stored, empty: empty)
                } catch {
                    plan.quarantined.append(.init(key: key, reason: "state at target: \(error)"))
                    continue
                }
            }
            let (merged, found) = current.merging(arriving)
            if returnIfAhead.contains(key) && merged != arriving
                || merged != current && relays?(key, Set(merged.clock.sites)) == true
            {
                plan.returns.append(key)
            }
            if merged != current || held?.state == nil {
                plan.stateWrites.append(.init(key: key, state: StateEncoding.encode(merged)))
            }
            let shown = table.visibleValues(of: merged)
            if merged.isPresent {
                if let visible = held?.visible {
                    if visible != shown { plan.visibleWrites.append(.init(key: key, values: shown, isInsert: false)) }
                } else {
                    plan.visibleWrites.append(.init(key: key, values: shown, isInsert: true))
                }
                if merged != current { plan.changedRows.append(key) }
            } else if held?.visible != nil {
                plan.visibleDeletes.append(key)
            }
            for (index, conflict) in found {
                plan.conflicts.append(record(conflict, table: table, key: key, column: columns[index]))
            }
            if table.rows == .insertOnly, held?.state != nil, let duplicate = duplicate(current, arriving, merged: merged) {
                plan.conflicts.append(record(duplicate, table: table, key: key, columns: columns))
            }
        }
        return plan
    }

    private static func record(
        _ conflict: ColumnConflict, table: CaptureTable, key: [String], column definition: CaptureTable.Column
    ) -> ApplyPlan.Conflict {
        let kind: String, discriminator: String, detail: String
        let column = definition.name.name
        switch conflict {
        case .concurrentCount(let counts):
            func describe(_ reset: CounterReset) -> String {
                JSONText.object(
                    ConflictRecord.stampJSON(reset.stamp) + [("counted", definition.counterScale.text(units: reset.base))])
            }
            kind = "concurrent_count"
            discriminator = "\(counts.winner.stamp)|\(counts.loser.stamp)"
            detail = JSONText.object([
                ("column", JSONText.quote(column)), ("winner", describe(counts.winner)), ("loser", describe(counts.loser)),
            ])
        case .concurrentStatus(let statuses):
            func describe(_ write: ForwardStatus.Write) -> String {
                JSONText.object(ConflictRecord.stampJSON(write.stamp) + [("value", JSONText.quote(write.value))])
            }
            kind = "concurrent_status"
            // Both writes, in a fixed order: the same pair gives the same id whichever side merges.
            let stamps = [statuses.winner.stamp, statuses.loser.stamp].sorted()
            discriminator = stamps.map(\.description).joined(separator: "|")
            detail = JSONText.object([
                ("column", JSONText.quote(column)), ("winner", describe(statuses.winner)), ("loser", describe(statuses.loser)),
            ])
        }
        let id = ConflictRecord.stableID(
            ([kind, table.name.description] + key + [column, discriminator]).joined(separator: "\u{1F}"))
        return .init(id: id, kind: kind, key: key, column: column, detail: detail)
    }

    /// An insert-only row created at two sites with different content: every column of one insert
    /// carries that insert's stamp, so the later insert wins every column (the same at every site),
    /// and the other is kept in the conflict's detail (`duplicate_key`).
    private static func duplicate(_ a: ReplicatedRow, _ b: ReplicatedRow, merged: ReplicatedRow)
        -> (winner: ReplicatedRow, loser: ReplicatedRow, stamps: [HybridTimestamp])?
    {
        guard let x = insertStamp(a), let y = insertStamp(b), x != y,
            a.columns.map(\.visibleValue) != b.columns.map(\.visibleValue)
        else { return nil }
        let winner = merged.columns.map(\.visibleValue) == a.columns.map(\.visibleValue) ? a : b
        return (winner, winner == a ? b : a, [x, y].sorted())
    }

    /// The stamp an insert-only row's insert gave every column.
    private static func insertStamp(_ row: ReplicatedRow) -> HybridTimestamp? {
        for column in row.columns {
            if case .lastWriterWins(let register) = column, let stamp = register.stamp { return stamp }
        }
        return nil
    }

    private static func record(
        _ duplicate: (winner: ReplicatedRow, loser: ReplicatedRow, stamps: [HybridTimestamp]), table: CaptureTable, key: [String],
        columns: [CaptureTable.Column]
    ) -> ApplyPlan.Conflict {
        func describe(_ row: ReplicatedRow) -> String {
            let stamp = insertStamp(row)
            let values = JSONText.object(zip(columns, row.columns).map { ($0.0.name.name, JSONText.value($0.1.visibleValue)) })
            return JSONText.object((stamp.map(ConflictRecord.stampJSON) ?? []) + [("values", values)])
        }
        let discriminator = duplicate.stamps.map(\.description).joined(separator: "|")
        let id = ConflictRecord.stableID((["duplicate_key", table.name.description] + key + ["", discriminator]).joined(separator: "\u{1F}"))
        let detail = JSONText.object([("winner", describe(duplicate.winner)), ("loser", describe(duplicate.loser))])
        return .init(id: id, kind: "duplicate_key", key: key, column: "", detail: detail)
    }

    /// Byte order of the key's text parts, part by part.
    static func keyPrecedes(_ a: [String], _ b: [String]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        }
        return a.count < b.count
    }
}
