import Catalog
import MergeCore
import Postgres

/// The cursor to advance in the same transaction as a batch, with the value it must still have.
struct CursorUpdate: Sendable {
    let source: SiteName
    /// nil: the cursor row must not exist yet (first delivery after bootstrapping).
    let expected: LinkCursor?
    let next: LinkCursor
    let delivered: Int
}

/// How a batch's transaction ended.
enum ApplyResult: Sendable {
    /// Committed, with what it changed at the target.
    case applied(ApplyOutcome)
    /// Rolled back on purpose: another daemon had moved the cursor first (and applied the batch
    /// there already, harmlessly). The link continues from `actual`.
    case cursorMoved(actual: LinkCursor?)
}

/// What one applied batch changed at the target.
struct ApplyOutcome: Sendable {
    var rowsWritten = 0
    var newConflicts: [ConflictRecord] = []
    /// Keys left untouched because the target's own state for them is unreadable.
    var rejected: [(table: ReplicatedTable, key: RowKey, reason: String)] = []
    /// Rows quarantined by this batch for the first time.
    var newlyQuarantined: [QuarantineEntry] = []
    /// Changes not applied because their row waits behind a quarantined change.
    var heldBack = 0
    /// Quarantined rows that a retry applied.
    var released = 0
    /// Rows an application holds locked here, set aside by this batch for the first time.
    var newlySetAside: [QuarantinedKey] = []
    /// Rows that were waiting on a lock and this batch applied.
    var lockReleased: [QuarantinedKey] = []
    /// Rows of this batch left waiting on a lock (new or still).
    var waitingOnLock = 0
    /// Rows routed away from the target that it does not hold: passed over, delivered.
    var routedAway = 0
    /// Rows recorded in the target's outbox again, for a source not routed them.
    var returned = 0
}

/// Applies a batch of shipped states to one target site in one transaction: joins each row's
/// state with the target's, writes the visible values, records conflicts, and advances the
/// source's cursor — all or nothing, so a crash anywhere is harmless and a retry a no-op.
enum Applier {
    /// Applies `incoming` (and stores `cursor`, if any) in one transaction of its own. Returns
    /// `.cursorMoved` when the cursor's compare-and-set failed, after rolling everything back.
    static func apply(
        _ connection: PostgresConnection, target: SiteName, source: SiteName, batch incoming: ChangeBatch,
        cursor: CursorUpdate?, quarantine extra: [QuarantineEntry] = [], lookUpQuarantine: Bool = true,
        tables: GeneratedTables = .builtIn
    ) throws(PostgresError) -> ApplyResult {
        try connection.transaction(label: "apply batch") { transaction throws(PostgresError) -> ApplyResult in
            var outcome = ApplyOutcome()
            var batch = incoming
            // A row whose earlier change is quarantined waits behind it, so its history stays in order.
            let keys = batch.states.flatMap { table, states in
                states.keys.map { QuarantinedKey(tableID: table.rawValue, key: $0) }
            } + batch.declared.flatMap { id, states in
                states.keys.map { QuarantinedKey(tableID: id, key: RowKey(parts: $0)) }
            }
            let lookup = lookUpQuarantine
                ? try Quarantine.lookup(transaction, source: source, keys: keys) : Quarantine.Lookup()
            let held = lookup.held
            if !held.isEmpty {
                for table in Array(batch.states.keys) {
                    batch.states[table] = batch.states[table]?.filter {
                        !held.contains(QuarantinedKey(tableID: table.rawValue, key: $0.key))
                    }
                }
                for id in Array(batch.declared.keys) {
                    batch.declared[id] = batch.declared[id]?.filter {
                        !held.contains(QuarantinedKey(tableID: id, key: RowKey(parts: $0.key)))
                    }
                }
            }
            try Quarantine.countHeld(transaction, source: source, keys: Array(held))
            outcome.heldBack = held.count
            var conflicts: [ConflictRecord] = []
            var touchedLines: Set<RowKey> = []
            // Rows an application holds locked here: set aside, the rest of the batch goes on.
            var locked: [QuarantinedKey] = []
            // Writes wait here and travel together, with the cursor, in one round trip.
            var writes: [PostgresConnection.Statement] = []
            for table in batch.states.keys.sorted() {
                guard let states = batch.states[table], !states.isEmpty else { continue }
                let layout = TableLayout.of(table)
                let waiting = Set(lookup.waiting.filter { $0.tableID == table.rawValue }.map {
                    RowKey($0.k1, layout.keyCount > 1 ? $0.k2 : nil)
                })
                let skipped: [RowKey]
                if table.isCounter {
                    skipped = try applyCounters(
                        transaction, layout: layout, states: states, waiting: waiting,
                        heldOnly: batch.heldOnlyRows[table] ?? [], returnIfAhead: batch.returnIfAheadRows[table] ?? [],
                        followed: batch.followedRows[table], relay: batch.relay, outcome: &outcome, conflicts: &conflicts,
                        writes: &writes)
                } else {
                    skipped = try applyRecords(
                        transaction, layout: layout, states: states, waiting: waiting, relay: batch.relay,
                        outcome: &outcome, conflicts: &conflicts, writes: &writes)
                }
                locked += skipped.map { QuarantinedKey(tableID: table.rawValue, key: $0) }
                if !table.isCounter {
                    let skippedKeys = Set(skipped)
                    for (key, state) in states where !skippedKeys.contains(key) {
                        if table == .orderLines { touchedLines.insert(key) }
                        if table == .returns, case .record(let record) = state, record.fields.count > 1,
                            let orderID = record.fields[0], let line = record.fields[1]
                        {
                            touchedLines.insert(RowKey(orderID, line))
                        }
                    }
                }
            }
            // Tables whose capture is generated: planned and written by DeclaredApplier, in this
            // transaction; rows it cannot read are quarantined and locked ones set aside, as above.
            var unreadable: [QuarantineEntry] = []
            for id in batch.declared.keys.sorted() {
                guard let states = batch.declared[id], !states.isEmpty, let applier = tables.applier(id) else {
                    continue
                }
                let applied = try applier.applyWithinTransaction(
                    transaction, incoming: states, heldOnly: batch.heldOnly[id] ?? [],
                    returnIfAhead: batch.returnIfAhead[id] ?? [], followed: batch.followed[id], relay: batch.relay)
                conflicts += applied.conflicts.compactMap { ConflictRecord($0, table: applier.table) }
                unreadable += applied.quarantined.map { QuarantineEntry(tableID: id, key: RowKey(parts: $0.key), reason: $0.reason) }
                locked += applied.lockedKeys.map { QuarantinedKey(tableID: id, key: RowKey(parts: $0)) }
                outcome.rowsWritten += applied.rowsWritten
                outcome.routedAway += applied.routedAway
                outcome.returned += applied.returned
            }
            if !touchedLines.isEmpty {
                // The check reads the lines and returns as this batch leaves them.
                _ = try transaction.pipeline(writes)
                writes.removeAll()
                conflicts += try overReturns(transaction, lines: touchedLines)
            }
            outcome.newConflicts = try record(transaction, conflicts: conflicts, site: target)
            let entries = extra
                + batch.rejected.map { QuarantineEntry(tableID: $0.record.tableID, key: $0.record.key, reason: $0.reason) }
                + outcome.rejected.map { QuarantineEntry(tableID: $0.table.rawValue, key: $0.key, reason: $0.reason) }
                + unreadable
            let stillFailing = Set(entries.map(QuarantinedKey.init)).union(locked)
            let released = lookup.retrying.union(lookup.waiting).filter { !stillFailing.contains($0) }
            try Quarantine.release(transaction, source: source, keys: Array(released))
            outcome.released = released.count
            outcome.lockReleased = released.filter { lookup.waiting.contains($0) }
            outcome.newlyQuarantined = try Quarantine.hold(transaction, source: source, entries: entries)
            // In the same transaction as the cursor: a row passed over is never forgotten.
            outcome.newlySetAside = try Quarantine.holdLockWaits(transaction, source: source, keys: locked)
            outcome.waitingOnLock = Set(locked).count
            if let cursor { writes.append(cursorStatement(cursor)) }
            let results = try transaction.pipeline(writes)
            if let cursor, let stored = results.last, stored.affectedRows == 0 {
                // The compare-and-set found the cursor moved: none of this batch is kept.
                let actual = try readCursor(transaction, source: cursor.source)
                try transaction.rollback()
                return .cursorMoved(actual: actual)
            }
            return .applied(outcome)
        }
    }

    // MARK: - Counters

    /// Applies counter states; returns the keys passed over because an application holds them locked.
    ///
    /// A routed table's share (`RouteShares`): keys in `heldOnly` are joined only where the target
    /// already holds their state (it wrote the row) and passed over, as delivered, elsewhere; keys in
    /// `returnIfAhead` whose join holds more than the source sent are recorded in the target's outbox
    /// again, so that the link back to the source delivers the whole row. Keys held only whose
    /// value of a `followed` route the target follows, as its `omnisync.follows` says in this
    /// transaction, are taken in all the same. With `relay`, the rows whose state the join changes
    /// and that others need are recorded again (`ChangeBatch.relay`).
    private static func applyCounters(
        _ connection: some StatementRunner, layout: TableLayout, states given: [RowKey: RowState], waiting: Set<RowKey>,
        heldOnly: Set<RowKey> = [], returnIfAhead: Set<RowKey> = [], followed: FollowedRoute? = nil, relay: RelayRule? = nil,
        outcome: inout ApplyOutcome, conflicts: inout [ConflictRecord], writes: inout [PostgresConnection.Statement]
    ) throws(PostgresError) -> [RowKey] {
        guard case .counter(let visibleColumns, _, _, _) = layout.shape,
            let placeholders = layout.sql.insertPlaceholders
        else { return [] }
        var states = given
        let candidates = heldOnly.filter { states[$0] != nil }.sorted()
        if !candidates.isEmpty {
            let present = try connection.query(
                layout.sql.presentStates, keyParameters(candidates, layout: layout), label: "find \(layout.table.name) states")
            let held = Set(present.rows.map { layout.rowKey($0) })
            var routedAway = candidates.filter { !held.contains($0) }
            if let followed, !routedAway.isEmpty {
                let following = try FollowBook.followed(
                    connection, namespace: followed.namespace,
                    values: Set(routedAway.compactMap { $0.part(followed.keyColumn) }))
                routedAway = routedAway.filter { key in
                    !(key.part(followed.keyColumn).map(following.contains) ?? false)
                }
            }
            for key in routedAway {
                states[key] = nil
                outcome.routedAway += 1
            }
        }
        guard !states.isEmpty else { return [] }
        let keys = states.keys.sorted()
        let current = try lockAndRead(
            connection, layout: layout, keys: keys, waiting: waiting, insert: placeholders,
            insertParameters: { keyParameters($0, layout: layout) })
        let columns = visibleColumns.count
        var stateWrites: [(RowKey, RowState)] = []
        var visibleWrites: [(RowKey, [Int64])] = []
        var deletes: [RowKey] = []
        var returns: [RowKey] = []
        for row in current.rows {
            let key = layout.rowKey(row)
            guard case .counter(let incoming)? = states[key] else { continue }
            let visibleStart = layout.keyCount
            let visible = (0..<columns).map { Int64(row[visibleStart + $0] ?? "") ?? 0 }
            let hasState = row[visibleStart + columns] == "t"
            var existing = CounterRow(columns: columns, resetRule: layout.resetRule)
            if hasState {
                do {
                    guard case .counter(let decoded) = try StateCodec.decode(
                        layout, state: row[(visibleStart + columns + 1)...])
                    else { continue }
                    existing = decoded
                } catch {
                    outcome.rejected.append((layout.table, key, "state at target: \(error.reason)"))
                    continue
                }
            }
            guard incoming.columnCount == columns, incoming.resetRule == existing.resetRule else { continue }
            let (merged, resetConflicts) = existing.merging(incoming)
            let stateChanged = merged != existing || !hasState
            if returnIfAhead.contains(key) && merged != incoming
                || merged != existing && relay?.relays(layout.table, key: key, writers: Set(merged.clock.sites)) == true
            {
                returns.append(key)
            }
            if stateChanged { stateWrites.append((key, .counter(merged))) }
            let present = layout.table == .stock || merged.isPresent(resetColumn: 0)
            if !present {
                deletes.append(key)
            } else if merged.values != visible {
                visibleWrites.append((key, merged.values))
            }
            for conflict in resetConflicts {
                conflicts.append(countConflict(layout.table, key: key, conflict))
            }
            if layout.table == .stock, stateChanged, present,
                Invariants.isOversold(onHand: merged.value(column: 0), reserved: merged.value(column: 1))
            {
                let detail = JSONText.object([
                    ("on_hand", String(merged.value(column: 0))), ("reserved", String(merged.value(column: 1))),
                ])
                conflicts.append(ConflictRecord(kind: .oversell, table: .stock, key: key, detail: detail))
            }
        }
        if let statement = writeStates(layout: layout, writes: stateWrites) { writes.append(statement) }
        if !visibleWrites.isEmpty {
            var params = keyParameters(visibleWrites.map(\.0), layout: layout)
            for column in 0..<columns {
                params.append(PostgresArray.literal(visibleWrites.map { String($0.1[column]) }))
            }
            writes.append(.init(layout.sql.updateVisible, params, label: "write \(layout.table.name) values"))
        }
        if !deletes.isEmpty {
            writes.append(.init(
                layout.sql.deleteVisible, keyParameters(deletes, layout: layout), label: "delete \(layout.table.name) rows"))
        }
        if !returns.isEmpty {
            writes.append(.init(
                layout.sql.recordAgain, keyParameters(returns, layout: layout), label: "record \(layout.table.name) rows again"))
            outcome.returned += returns.count
        }
        outcome.rowsWritten += Set(stateWrites.map(\.0)).union(visibleWrites.map(\.0)).union(deletes).count
        return current.skipped
    }

    private static func countConflict(_ table: ReplicatedTable, key: RowKey, _ conflict: ResetConflict) -> ConflictRecord {
        func describe(_ reset: CounterReset) -> String {
            JSONText.object(ConflictRecord.stampJSON(reset.stamp) + [("counted", String(reset.base))])
        }
        let detail = JSONText.object([("winner", describe(conflict.winner)), ("loser", describe(conflict.loser))])
        return ConflictRecord(
            kind: .concurrentCount, table: table, key: key,
            discriminator: "\(conflict.winner.stamp)|\(conflict.loser.stamp)", detail: detail)
    }

    // MARK: - Immutable records

    /// Applies immutable records; returns the keys passed over because an application holds them locked.
    private static func applyRecords(
        _ connection: some StatementRunner, layout: TableLayout, states: [RowKey: RowState], waiting: Set<RowKey>,
        relay: RelayRule? = nil, outcome: inout ApplyOutcome, conflicts: inout [ConflictRecord],
        writes: inout [PostgresConnection.Statement]
    ) throws(PostgresError) -> [RowKey] {
        let keys = states.keys.sorted()
        var incoming: [RowKey: ImmutableRecord] = [:]
        for key in keys {
            if case .record(let record)? = states[key], record.fields.count == layout.fieldCount { incoming[key] = record }
        }
        guard !incoming.isEmpty, let insertMissing = layout.sql.insertMissingRecords else { return [] }
        let sortedKeys = incoming.keys.sorted()
        let records = incoming
        let current = try lockAndRead(
            connection, layout: layout, keys: sortedKeys, waiting: waiting, insert: insertMissing,
            insertParameters: { keys in
                var params = keyParameters(keys, layout: layout)
                for field in 0..<layout.fieldCount {
                    params.append(PostgresArray.literal(keys.map { records[$0]!.fields[field] }))
                }
                return params
            })
        var stateWrites: [(RowKey, RowState)] = []
        var visibleWrites: [(RowKey, ImmutableRecord)] = []
        for row in current.rows {
            let key = layout.rowKey(row)
            guard let record = incoming[key] else { continue }
            let fields = Array(row[layout.keyCount..<(layout.keyCount + layout.fieldCount)])
            let hasState = row[layout.keyCount + layout.fieldCount] == "t"
            guard hasState else {
                // Just inserted by this batch (or a row without state): it takes the incoming version.
                stateWrites.append((key, .record(record)))
                if fields != record.fields { visibleWrites.append((key, record)) }
                continue
            }
            let existing: ImmutableRecord
            do {
                guard case .record(let decoded) = try StateCodec.decode(
                    layout, state: row[(layout.keyCount + layout.fieldCount + 1)...], fields: fields)
                else { continue }
                existing = decoded
            } catch {
                outcome.rejected.append((layout.table, key, "state at target: \(error.reason)"))
                continue
            }
            let (merged, duplicate) = existing.merging(record)
            if merged != existing {
                stateWrites.append((key, .record(merged)))
                if merged.fields != existing.fields { visibleWrites.append((key, merged)) }
            }
            if let duplicate {
                conflicts.append(duplicateConflict(layout, key: key, duplicate))
            }
        }
        if let statement = writeStates(layout: layout, writes: stateWrites) { writes.append(statement) }
        if !visibleWrites.isEmpty {
            var params = keyParameters(visibleWrites.map(\.0), layout: layout)
            for field in 0..<layout.fieldCount {
                params.append(PostgresArray.literal(visibleWrites.map { $0.1.fields[field] }))
            }
            writes.append(.init(layout.sql.updateVisible, params, label: "write \(layout.table.name) values"))
        }
        let relayed = stateWrites.compactMap { key, state in
            guard case .record(let record) = state,
                relay?.relays(layout.table, key: key, writers: [record.stamp.site]) == true
            else { return nil as RowKey? }
            return key
        }
        if !relayed.isEmpty {
            writes.append(.init(
                layout.sql.recordAgain, keyParameters(relayed, layout: layout), label: "record \(layout.table.name) rows again"))
            outcome.returned += relayed.count
        }
        outcome.rowsWritten += Set(stateWrites.map(\.0)).union(visibleWrites.map(\.0)).count
        return current.skipped
    }

    private static func duplicateConflict(_ layout: TableLayout, key: RowKey, _ duplicate: DuplicateRecord) -> ConflictRecord {
        let fields: [(name: String, type: String)]
        if case .record(let recordFields) = layout.shape { fields = recordFields } else { fields = [] }
        func describe(_ record: ImmutableRecord) -> String {
            let values = JSONText.object(zip(fields, record.fields).map { ($0.0.name, JSONText.value($0.1)) })
            return JSONText.object(ConflictRecord.stampJSON(record.stamp) + [("values", values)])
        }
        let detail = JSONText.object([("winner", describe(duplicate.winner)), ("loser", describe(duplicate.loser))])
        return ConflictRecord(
            kind: .duplicateKey, table: layout.table, key: key,
            discriminator: "\(duplicate.winner.stamp)|\(duplicate.loser.stamp)", detail: detail)
    }

    // MARK: - Locking without waiting on applications

    /// Locks the target's rows for `keys` and reads them (the read starts after the lock, in a
    /// new statement). Rows the target lacks are inserted first (`insert`: placeholders for
    /// counters, the records themselves otherwise), locked by their insert. A row another
    /// transaction holds is not waited on: it is passed over (SKIP LOCKED); one not known to be
    /// waiting already gets one short wait (`BoundedLocking.contendedLockTimeout`) before it is.
    /// Returns the locked rows as `selectCurrent` reads them and the keys passed over.
    private static func lockAndRead(
        _ connection: some StatementRunner, layout: TableLayout, keys: [RowKey], waiting: Set<RowKey>, insert: String,
        insertParameters: ([RowKey]) -> [String?]
    ) throws(PostgresError) -> (rows: [[String?]], skipped: [RowKey]) {
        let name = layout.table.name
        let params = keyParameters(keys, layout: layout)
        // Two statements in one round trip: the read must start after the locks are held.
        let first = try connection.pipeline([
            .init(layout.sql.lockRowsNoWait, params, label: "lock \(name) rows"),
            .init(layout.sql.selectCurrent, params, label: "read \(name) rows"),
        ])
        var locked = Set(first[0].rows.map { layout.rowKey($0) })
        var rows = first[1].rows.filter { locked.contains(layout.rowKey($0)) }
        let present = Set(first[1].rows.map { layout.rowKey($0) })
        var contended = present.subtracting(locked)
        let missing = keys.filter { !present.contains($0) }
        if !missing.isEmpty {
            let created = try insertBounded(
                connection, layout: layout, sql: insert, keys: missing, parameters: insertParameters)
            rows += created.rows
            locked.formUnion(created.keys)
            // Inserted meanwhile by another transaction (committed, or still open).
            contended.formUnion(missing.filter { !created.keys.contains($0) })
        }
        let fresh = contended.filter { !waiting.contains($0) }.sorted()
        if !fresh.isEmpty {
            let got = try lockBounded(connection, layout: layout, keys: fresh)
            rows += got.rows
            locked.formUnion(got.keys)
        }
        // In key order, as the rows were locked and as the writes go.
        let ordered = rows.sorted { layout.rowKey($0) < layout.rowKey($1) }
        return (ordered, keys.filter { !locked.contains($0) })
    }

    /// Inserts the missing rows and reads them, halving a group whose insert had to wait
    /// (`BoundedLocking.insertHalving`). Returns the keys inserted (locked by this transaction)
    /// and their rows.
    private static func insertBounded(
        _ connection: some StatementRunner, layout: TableLayout, sql: String, keys: [RowKey],
        parameters: ([RowKey]) -> [String?]
    ) throws(PostgresError) -> (keys: Set<RowKey>, rows: [[String?]]) {
        let name = layout.table.name
        let groups = try BoundedLocking.insertHalving(connection, keys: keys) { group in
            [
                .init(sql, parameters(group), label: "insert \(name) rows"),
                .init(layout.sql.selectCurrent, keyParameters(group, layout: layout), label: "read \(name) rows"),
            ]
        }
        var inserted: Set<RowKey> = []
        var rows: [[String?]] = []
        for group in groups {
            let keys = Set(group.results[0].rows.map { layout.rowKey($0) })
            inserted.formUnion(keys)
            rows += group.results[1].rows.filter { keys.contains(layout.rowKey($0)) }
        }
        return (inserted, rows)
    }

    /// Locks rows that were held a moment ago, waiting for them briefly; after that, takes those
    /// free by now. Returns the keys locked and their rows, read after the lock.
    private static func lockBounded(
        _ connection: some StatementRunner, layout: TableLayout, keys: [RowKey]
    ) throws(PostgresError) -> (keys: Set<RowKey>, rows: [[String?]]) {
        let params = keyParameters(keys, layout: layout)
        let name = layout.table.name
        let read = PostgresConnection.Statement(layout.sql.selectCurrent, params, label: "read \(name) rows")
        let results = try BoundedLocking.lockBriefly(
            connection,
            waiting: [.init(layout.sql.lockRows, params, label: "lock \(name) rows"), read],
            noWait: [.init(layout.sql.lockRowsNoWait, params, label: "lock \(name) rows"), read])
        let got = Set(results[0].rows.map { layout.rowKey($0) })
        return (got, results[1].rows.filter { got.contains(layout.rowKey($0)) })
    }

    // MARK: - Invariants across rows

    static let returnsPerLine = """
        SELECT l.order_id, l.line_no::text, l.quantity::text, r.return_id, r.quantity::text, s.origin
        FROM unnest($1::text[], $2::int[]) AS k(order_id, line_no)
        JOIN retail.order_lines AS l ON l.order_id = k.order_id AND l.line_no = k.line_no
        JOIN retail.returns AS r ON r.order_id = l.order_id AND r.line_no = l.line_no
        LEFT JOIN omnisync.return_state AS s ON s.return_id = r.return_id
        ORDER BY l.order_id, l.line_no, r.return_id
        """

    /// Over-returns among the order lines a batch touched, judged once the line is known.
    private static func overReturns(_ connection: some StatementRunner, lines: Set<RowKey>) throws(PostgresError) -> [ConflictRecord] {
        let keys = lines.filter { Int32($0.k2 ?? "") != nil }.sorted()
        guard !keys.isEmpty else { return [] }
        let result = try connection.query(
            returnsPerLine, [PostgresArray.literal(keys.map(\.k1)), PostgresArray.literal(keys.map(\.k2))],
            label: "check over-returns")
        var byLine: [RowKey: (bought: Int64, returns: [(id: String, quantity: Int64, site: SiteName)])] = [:]
        for row in result.rows {
            let key = RowKey(row[0] ?? "", row[1])
            let bought = Int64(row[2] ?? "") ?? 0
            byLine[key, default: (bought, [])].returns.append((row[3] ?? "", Int64(row[4] ?? "") ?? 0, row[5] ?? "?"))
        }
        var conflicts: [ConflictRecord] = []
        for key in byLine.keys.sorted() {
            guard let line = byLine[key],
                Invariants.isOverReturned(bought: line.bought, returns: line.returns.map { ($0.quantity, $0.site) })
            else { continue }
            let returned = line.returns.reduce(Int64(0)) { $0.saturatingAdd($1.quantity) }
            let list = "[" + line.returns.map {
                JSONText.object([
                    ("return_id", JSONText.quote($0.id)), ("site", JSONText.quote($0.site)),
                    ("quantity", String($0.quantity)),
                ])
            }.joined(separator: ",") + "]"
            let detail = JSONText.object([
                ("order_id", JSONText.quote(key.k1)), ("line_no", key.k2 ?? "null"),
                ("bought", String(line.bought)), ("returned", String(returned)), ("returns", list),
            ])
            conflicts.append(ConflictRecord(kind: .overReturn, table: .orderLines, key: key, detail: detail))
        }
        return conflicts
    }

    // MARK: - Writing

    private static func keyParameters(_ keys: [RowKey], layout: TableLayout) -> [String?] {
        var params: [String?] = [PostgresArray.literal(keys.map(\.k1))]
        if layout.keyCount > 1 { params.append(PostgresArray.literal(keys.map(\.k2))) }
        return params
    }

    /// The statement that upserts merged states, if there are any.
    private static func writeStates(layout: TableLayout, writes: [(RowKey, RowState)]) -> PostgresConnection.Statement? {
        guard !writes.isEmpty else { return nil }
        var params = keyParameters(writes.map(\.0), layout: layout)
        let encoded = writes.map { StateCodec.encode($0.1, layout: layout) }
        for column in 0..<layout.stateColumns.count {
            params.append(PostgresArray.literal(encoded.map { $0[column] }))
        }
        return .init(layout.sql.upsertStates, params, label: "write \(layout.table.name) states")
    }

    static let insertConflicts = """
        INSERT INTO omnisync.conflicts (id, kind, site, table_name, row_key, detail)
        SELECT u.id, u.kind, $3, u.table_name, u.row_key::jsonb, u.detail::jsonb
        FROM unnest($1::text[], $2::text[], $4::text[], $5::text[], $6::text[]) AS u(id, kind, table_name, row_key, detail)
        ON CONFLICT (id) WHERE resolved_at IS NULL DO NOTHING
        RETURNING id
        """

    /// Stores conflicts not already open at this site; returns the newly recorded ones.
    private static func record(
        _ connection: some StatementRunner, conflicts: [ConflictRecord], site: SiteName
    ) throws(PostgresError) -> [ConflictRecord] {
        var unique: [String: ConflictRecord] = [:]
        for conflict in conflicts { unique[conflict.id] = conflict }
        guard !unique.isEmpty else { return [] }
        let list = unique.keys.sorted().map { unique[$0]! }
        let result = try connection.query(
            insertConflicts,
            [
                PostgresArray.literal(list.map(\.id)), PostgresArray.literal(list.map(\.kind.rawValue)), site,
                PostgresArray.literal(list.map(\.tableName)), PostgresArray.literal(list.map(\.keyJSON)),
                PostgresArray.literal(list.map(\.detail)),
            ],
            label: "record conflicts")
        let inserted = Set(result.rows.compactMap { $0[0] })
        return list.filter { inserted.contains($0.id) }
    }

    // MARK: - Cursor

    static let selectCursor = """
        SELECT done_snapshot::text, window_snapshot::text, window_txid::text, window_id::text
        FROM omnisync.cursors WHERE source_site = $1
        """

    static func readCursor(
        _ connection: some StatementRunner, source: SiteName, lock: Bool = false
    ) throws(PostgresError) -> LinkCursor? {
        let result = try connection.query(selectCursor + (lock ? " FOR UPDATE" : ""), [source], label: "read cursor")
        guard let row = result.rows.first, let done = row[0] else { return nil }
        return LinkCursor(done: done, window: row[1], windowTxid: row[2], windowID: row[3].flatMap { Int64($0) })
    }

    static let createCursor = """
        INSERT INTO omnisync.cursors (source_site, done_snapshot, window_snapshot, window_txid, window_id, delivered)
        VALUES ($1, $2::pg_snapshot, $3::pg_snapshot, $4::xid8, $5::bigint, $6::bigint)
        ON CONFLICT (source_site) DO NOTHING
        """

    /// Compare-and-set: another daemon that moved the cursor first makes this batch roll back
    /// (harmlessly: it was applied there already) and this link continue from there.
    static let advanceCursor = """
        UPDATE omnisync.cursors SET done_snapshot = $2::pg_snapshot, window_snapshot = $3::pg_snapshot,
            window_txid = $4::xid8, window_id = $5::bigint, delivered = delivered + $6::bigint, updated_at = now()
        WHERE source_site = $1 AND done_snapshot::text = $7
          AND window_snapshot::text IS NOT DISTINCT FROM $8 AND window_txid::text IS NOT DISTINCT FROM $9
          AND window_id IS NOT DISTINCT FROM $10::bigint
        """

    /// The statement that stores the cursor; no row changed means the cursor had moved.
    private static func cursorStatement(_ update: CursorUpdate) -> PostgresConnection.Statement {
        let next = update.next
        let params: [String?] = [
            update.source, next.done, next.window, next.windowTxid, next.windowID.map(String.init), String(update.delivered),
        ]
        guard let expected = update.expected else {
            return .init(createCursor, params, label: "create cursor")
        }
        return .init(
            advanceCursor,
            params + [expected.done, expected.window, expected.windowTxid, expected.windowID.map(String.init)],
            label: "advance cursor")
    }
}
