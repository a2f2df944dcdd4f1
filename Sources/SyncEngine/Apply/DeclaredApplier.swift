import Catalog
import MergeCore
import Postgres

/// Reads the states of a table whose capture is generated at a source and applies them at a
/// target, by the statements of `DeclaredTableStatements` and the decisions of `ApplyPlanner`:
/// the driver only runs statements. Both run in the caller's session, which has
/// `omnisync.applying` on (the daemon's sessions do), so the writes are not captured again.
///
/// A row whose state cannot be read, at the source or at the target, is reported with the reason
/// (the caller quarantines it) and its row left untouched; the other rows go on.
public struct DeclaredApplier: Sendable {
    let statements: DeclaredTableStatements
    let checks: [DeclaredCheck]

    public var table: CaptureTable { statements.table }

    /// - Parameter checks: run after a merge on the rows it changed; a row for which one is
    ///   false records a conflict of its kind (`retail.loyalty`'s `over_redeem`).
    public init(table: CaptureTable, checks: [TableSpec.Check] = []) throws(SyntaxError) {
        statements = try DeclaredTableStatements(table)
        self.checks = checks.map { DeclaredCheck(table: table, check: $0) }
    }

    /// States read at a source: the decoded ones by key, and the keys whose state could not be read.
    public struct SourceStates: Sendable {
        public var states: [[String]: [StateField]] = [:]
        public var unreadable: [(key: [String], reason: String)] = []

        /// Rows of key columns then state fields, as `selectStates` and the state pages return them.
        mutating func add(
            _ rows: [[String?]], keyCount: Int, decode: ([String?]) -> Result<[StateField], StateDecodingError>
        ) {
            for row in rows {
                let key = row[0..<keyCount].map { $0 ?? "" }
                switch decode(Array(row[keyCount...])) {
                case .success(let fields): states[key] = fields
                case .failure(let error): unreadable.append((key, "state at source: \(error.reason)"))
                }
            }
        }
    }

    /// The source's current states of `keys` (each key as its columns' text, in key order).
    public func readStates(_ connection: some StatementRunner, keys: [[String]]) throws(PostgresError) -> SourceStates {
        var read = SourceStates()
        guard !keys.isEmpty else { return read }
        let rows = try connection.query(statements.selectStates, keyParameters(keys), label: "read \(table.name) states").rows
        read.add(rows, keyCount: table.key.count, decode: decodeFields)
        return read
    }

    /// The source's current states whose key column `column` (an index into the key) holds one
    /// of `values`: the rows of a new follow.
    public func readStates(
        _ connection: some StatementRunner, keyColumn column: Int, values: [String]
    ) throws(PostgresError) -> SourceStates {
        var read = SourceStates()
        guard !values.isEmpty else { return read }
        let rows = try connection.query(
            statements.selectStatesByKeyColumn[column], [PostgresArray.literal(values.map { Optional($0) })],
            label: "read \(table.name) followed states"
        ).rows
        read.add(rows, keyCount: table.key.count, decode: decodeFields)
        return read
    }

    /// Takes away from this site the rows whose key column `column` holds one of `values`, except
    /// those `site` wrote; returns how many visible rows went. Not captured (the daemon's session).
    func removeUnwritten(
        _ connection: some StatementRunner, keyColumn column: Int, values: [String], site: String
    ) throws(PostgresError) -> Int {
        guard !values.isEmpty else { return 0 }
        return try connection.query(
            statements.removeUnwrittenByKeyColumn[column], [PostgresArray.literal(values.map { Optional($0) }), site],
            label: "remove unfollowed \(table.name) rows"
        ).affectedRows
    }

    /// One page of every state, in key order after `after` (the first copy to a new peer).
    public func readStatePage(
        _ connection: some StatementRunner, after: [String]?, limit: Int
    ) throws(PostgresError) -> (states: SourceStates, last: [String]?, rows: Int) {
        let keyCount = table.key.count
        let params = (after ?? []).map { Optional($0) } + [String(limit)]
        let sql = after == nil ? statements.selectStatesFirstPage : statements.selectStatesNextPage
        let rows = try connection.query(sql, params, label: "read \(table.name) state page").rows
        var read = SourceStates()
        read.add(rows, keyCount: keyCount, decode: decodeFields)
        return (read, rows.last.map { $0[0..<keyCount].map { $0 ?? "" } }, rows.count)
    }

    /// What `apply` did.
    public struct Outcome: Sendable {
        /// Found by the merges and the checks, as the target records them.
        var conflicts: [ApplyPlan.Conflict] = []
        public var conflictCount: Int { conflicts.count }
        /// Rows left untouched: their state could not be read or decoded.
        public internal(set) var quarantined: [(key: [String], reason: String)] = []
        /// Rows passed over because an application holds them locked at the target.
        public internal(set) var lockedKeys: [[String]] = []
        public internal(set) var rowsWritten = 0
        /// Rows routed away from the target that it does not hold: passed over, delivered.
        public internal(set) var routedAway = 0
        /// Rows recorded in the target's outbox again, for a source not routed them.
        public internal(set) var returned = 0
    }

    /// Joins `incoming` into the target in one transaction of its own.
    public func apply(_ connection: PostgresConnection, incoming: [[String]: [StateField]]) throws(PostgresError) -> Outcome {
        try connection.transaction(label: "apply \(table.name)") { transaction throws(PostgresError) in
            try applyWithinTransaction(transaction, incoming: incoming)
        }
    }

    /// Joins `incoming` into the target inside the caller's transaction (a batch's, with its cursor).
    ///
    /// - Parameters:
    ///   - heldOnly: keys routed away from the target (`RouteShares`): joined only where the target
    ///     already holds the row's state, passed over (delivered) elsewhere.
    ///   - returnIfAhead: keys whose source is not routed the row: where the join holds more than
    ///     the source sent, the row is recorded in the target's outbox again, for the source.
    ///   - followed: the table's follow route: a key held only whose value the target follows is
    ///     taken in (read in this transaction, so an unfollow's removal is never undone).
    ///   - relay: rows the join changes that others need are recorded in the target's outbox again
    ///     (a hub relaying a site's changes to the others, `ChangeBatch.relay`).
    func applyWithinTransaction(
        _ connection: some StatementRunner, incoming: [[String]: [StateField]], heldOnly: Set<[String]> = [],
        returnIfAhead: Set<[String]> = [], followed: FollowedRoute? = nil, relay: RelayRule? = nil
    ) throws(PostgresError) -> Outcome {
        var outcome = Outcome()
        guard !incoming.isEmpty else { return outcome }
        let keyCount = table.key.count
        let replicatedCount = table.replicated.count
        let all = incoming.keys.sorted(by: ApplyPlanner.keyPrecedes)
        // The state rows first: a key whose state another transaction holds (an application
        // writing it, a new row not yet committed) is set aside, never read stale and overwritten.
        let (held, routedAway) = try lockStates(connection, keys: all, heldOnly: heldOnly, followed: followed)
        outcome.routedAway = routedAway.count
        outcome.lockedKeys = all.filter { !held.contains($0) && !routedAway.contains($0) }
        let keys = all.filter { held.contains($0) }
        guard !keys.isEmpty else { return outcome }
        let params = keyParameters(keys)
        let results = try connection.pipeline([
            .init(statements.lockRows, params, label: "lock \(table.name) rows"),
            .init(statements.selectCurrent, params, label: "read \(table.name) rows"),
        ])
        let locked = Set(results[0].rows.map { $0[0..<keyCount].map { $0 ?? "" } })
        var target: [[String]: TargetRow] = [:]
        var passedOver: Set<[String]> = []
        for row in results[1].rows {
            let key = row[0..<keyCount].map { $0 ?? "" }
            let fieldsStart = keyCount + 1
            let visibleFlag = fieldsStart + statements.fields.count
            let hasVisible = row[visibleFlag] == "t"
            // A visible row another transaction holds is not waited on: it is set aside.
            if hasVisible, !locked.contains(key) {
                outcome.lockedKeys.append(key)
                passedOver.insert(key)
                continue
            }
            var state: [StateField]?
            if row[keyCount] == "t" {
                switch decodeFields(Array(row[fieldsStart..<visibleFlag])) {
                case .success(let fields): state = fields
                case .failure(let error):
                    outcome.quarantined.append((key, "state at target: \(error.reason)"))
                    passedOver.insert(key)
                    continue
                }
            }
            let visible = hasVisible ? Array(row[(visibleFlag + 1)..<(visibleFlag + 1 + replicatedCount)]) : nil
            target[key] = TargetRow(state: state, visible: visible)
        }
        let plan = ApplyPlanner.plan(
            table: table, incoming: incoming.filter { held.contains($0.key) && !passedOver.contains($0.key) }, target: target,
            returnIfAhead: returnIfAhead,
            relays: relay.map { rule in
                let (id, table) = (Int(table.id.rawValue), table)
                return { key, writers in rule.relays(tableID: id, key: key, table: table, writers: writers) }
            })
        var writes: [PostgresConnection.Statement] = []
        if !plan.stateWrites.isEmpty {
            var stateParams = keyParameters(plan.stateWrites.map(\.key))
            for index in statements.fields.indices {
                stateParams.append(PostgresArray.literal(plan.stateWrites.map { Self.text($0.state[index]) }))
            }
            writes.append(.init(statements.upsertStates, stateParams, label: "write \(table.name) states"))
        }
        for (isInsert, sql) in [(true, statements.insertVisible), (false, statements.updateVisible)] where !sql.isEmpty {
            let rows = plan.visibleWrites.filter { $0.isInsert == isInsert }
            guard !rows.isEmpty else { continue }
            var visibleParams = keyParameters(rows.map(\.key))
            for index in 0..<replicatedCount {
                visibleParams.append(PostgresArray.literal(rows.map { $0.values[index] }))
            }
            writes.append(.init(sql, visibleParams, label: "write \(table.name) values"))
        }
        if !plan.visibleDeletes.isEmpty {
            writes.append(.init(statements.deleteVisible, keyParameters(plan.visibleDeletes), label: "delete \(table.name) rows"))
        }
        if !plan.returns.isEmpty {
            writes.append(.init(statements.recordAgain, keyParameters(plan.returns), label: "record \(table.name) rows again"))
        }
        // The checks read the rows as these writes leave them, in the same round trip.
        let checked = plan.changedRows.sorted(by: ApplyPlanner.keyPrecedes)
        let checkStatements = checked.isEmpty ? [] : checks.map { check in
            PostgresConnection.Statement(check.violations, keyParameters(checked), label: "check \(check.kind) on \(table.name)")
        }
        if !writes.isEmpty || !checkStatements.isEmpty {
            let results = try connection.pipeline(writes + checkStatements)
            for (check, result) in zip(checks, results.suffix(checkStatements.count)) {
                outcome.conflicts += result.rows.map { check.conflict(row: $0) }
            }
        }
        outcome.conflicts = plan.conflicts + outcome.conflicts
        outcome.quarantined += plan.quarantined.map { ($0.key, $0.reason) }
        outcome.rowsWritten = Set(plan.stateWrites.map(\.key) + plan.visibleWrites.map(\.key) + plan.visibleDeletes).count
        outcome.returned = plan.returns.count
        return outcome
    }

    /// Locks the state rows of `keys`, creating empty ones for keys that have none but those in
    /// `heldOnly` (returned as routed away); returns the keys locked. A state row another
    /// transaction holds gets one short wait (`BoundedLocking.contendedLockTimeout`), then is
    /// passed over; so is a key whose first state another transaction is inserting (an
    /// application's open insert).
    private func lockStates(
        _ connection: some StatementRunner, keys: [[String]], heldOnly: Set<[String]>, followed: FollowedRoute?
    ) throws(PostgresError) -> (locked: Set<[String]>, routedAway: Set<[String]>) {
        let keyCount = table.key.count
        func keysOf(_ result: QueryResult) -> Set<[String]> { Set(result.rows.map { $0[0..<keyCount].map { $0 ?? "" } }) }
        let first = try connection.pipeline([
            .init(statements.lockStatesNoWait, keyParameters(keys), label: "lock \(table.name) states"),
            .init(statements.presentStates, keyParameters(keys), label: "find \(table.name) states"),
        ])
        var locked = keysOf(first[0])
        let present = keysOf(first[1])
        var contended = keys.filter { present.contains($0) && !locked.contains($0) }
        var routedAway = Set(keys.filter { !present.contains($0) && heldOnly.contains($0) })
        if let followed, !routedAway.isEmpty {
            // Those whose value the target follows are routed here after all.
            let following = try FollowBook.followed(
                connection, namespace: followed.namespace, values: Set(routedAway.map { $0[followed.keyColumn] }))
            routedAway = routedAway.filter { !following.contains($0[followed.keyColumn]) }
        }
        let missing = keys.filter { !present.contains($0) && !routedAway.contains($0) }
        let created = try BoundedLocking.insertHalving(connection, keys: missing) { group in
            [.init(statements.insertEmptyStates, keyParameters(group), label: "create \(table.name) states")]
        }
        let inserted = created.reduce(into: Set<[String]>()) { $0.formUnion(keysOf($1.results[0])) }
        locked.formUnion(inserted)
        // Inserted meanwhile by another transaction (committed, or still open).
        contended += missing.filter { !inserted.contains($0) }
        if !contended.isEmpty {
            let params = keyParameters(contended.sorted(by: ApplyPlanner.keyPrecedes))
            let waited = try BoundedLocking.lockBriefly(
                connection,
                waiting: [.init(statements.lockStatesWaiting, params, label: "lock \(table.name) states")],
                noWait: [.init(statements.lockStatesNoWait, params, label: "lock \(table.name) states")])
            locked.formUnion(keysOf(waited[0]))
        }
        return (locked, routedAway)
    }

    private func keyParameters(_ keys: [[String]]) -> [String?] {
        (0..<table.key.count).map { column in PostgresArray.literal(keys.map { $0[column] }) }
    }

    /// The stored fields as text, typed by the encoding's field list. Arrays arrive in
    /// PostgreSQL's array text form.
    private func decodeFields(_ texts: [String?]) -> Result<[StateField], StateDecodingError> {
        var fields: [StateField] = []
        for (field, text) in zip(statements.fields, texts) {
            switch field.type {
            case .integer:
                guard let text else { fields.append(.integer(nil)); continue }
                guard let number = Int64(text) else { return .failure(StateDecodingError(reason: "\(field.name) is not an integer")) }
                fields.append(.integer(number))
            case .text:
                fields.append(.text(text))
            case .integers:
                guard let text else { fields.append(.integers(nil)); continue }
                guard let list = try? PostgresArray.parseIntegers(text) else {
                    return .failure(StateDecodingError(reason: "\(field.name) is not a list of integers"))
                }
                fields.append(.integers(list))
            case .texts:
                guard let text else { fields.append(.texts(nil)); continue }
                guard let list = try? PostgresArray.parseStrings(text) else {
                    return .failure(StateDecodingError(reason: "\(field.name) is not a list of texts"))
                }
                fields.append(.texts(list))
            }
        }
        return .success(fields)
    }

    /// A field as the text its state-table column reads (`unnest` then casts it).
    static func text(_ field: StateField) -> String? {
        switch field {
        case .integer(let number): return number.map(String.init)
        case .text(let text): return text
        case .integers(let list): return list.map { PostgresArray.literal($0) }
        case .texts(let list): return list.map { PostgresArray.literal($0.map { Optional($0) }) }
        }
    }
}
