import Catalog
import MergeCore
import Postgres

/// Reads declared-row states at a source and applies them at a target, by the statements of
/// `DeclaredTableStatements` and the decisions of `ApplyPlanner`: the driver only runs statements.
/// Both run in the caller's session, which has `omnisync.applying` on (the daemon's sessions do),
/// so the writes are not captured again.
public struct DeclaredApplier: Sendable {
    let statements: DeclaredTableStatements

    public init(table: CaptureTable) throws(SyntaxError) {
        statements = try DeclaredTableStatements(table)
    }

    /// The source's current states of `keys` (each key as its columns' text, in key order).
    public func readStates(_ connection: some StatementRunner, keys: [[String]]) throws -> [[String]: [StateField]] {
        guard !keys.isEmpty else { return [:] }
        let keyCount = statements.table.key.count
        let rows = try connection.query(statements.selectStates, keyParameters(keys), label: "read \(statements.table.name) states").rows
        var states: [[String]: [StateField]] = [:]
        for row in rows {
            let key = row[0..<keyCount].map { $0 ?? "" }
            states[key] = try decodeFields(Array(row[keyCount...]))
        }
        return states
    }

    /// What `apply` did: the plan, and the keys passed over because an application holds them locked.
    public struct Outcome: Sendable {
        public let conflicts: Int
        public let quarantined: [(key: [String], reason: String)]
        public let lockedKeys: [[String]]
        public let rowsWritten: Int
    }

    /// Joins `incoming` into the target in one transaction of its own. A target state that cannot
    /// be read stops the apply before anything is written: the transaction is rolled back and the
    /// reason thrown.
    public func apply(_ connection: PostgresConnection, incoming: [[String]: [StateField]]) throws -> Outcome {
        var unreadable: (any Error)?
        let outcome = try connection.transaction(label: "apply \(statements.table.name)") {
            transaction throws(PostgresError) -> Outcome? in
            do {
                return try applyWithinTransaction(transaction, incoming: incoming)
            } catch let error as PostgresError {
                throw error
            } catch {
                unreadable = error
                try transaction.rollback()
                return nil
            }
        }
        guard let outcome else { throw unreadable ?? StateDecodingError(reason: "unreadable state") }
        return outcome
    }

    /// Joins `incoming` into the target inside the caller's transaction (a batch's, with its cursor).
    func applyWithinTransaction(_ connection: some StatementRunner, incoming: [[String]: [StateField]]) throws -> Outcome {
        let table = statements.table
        let keyCount = table.key.count
        let replicatedCount = table.replicated.count
        do {
            let keys = incoming.keys.sorted(by: ApplyPlanner.keyPrecedes)
            let params = keyParameters(keys)
            let results = try connection.pipeline([
                .init(statements.lockRows, params, label: "lock \(table.name) rows"),
                .init(statements.selectCurrent, params, label: "read \(table.name) rows"),
            ])
            let locked = Set(results[0].rows.map { $0[0..<keyCount].map { $0 ?? "" } })
            var target: [[String]: TargetRow] = [:]
            var passedOver: [[String]] = []
            for row in results[1].rows {
                let key = row[0..<keyCount].map { $0 ?? "" }
                let fieldsStart = keyCount + 1
                let visibleFlag = fieldsStart + statements.fields.count
                let hasVisible = row[visibleFlag] == "t"
                // A visible row another transaction holds is not waited on: it is set aside.
                if hasVisible, !locked.contains(key) {
                    passedOver.append(key)
                    continue
                }
                let state = row[keyCount] == "t" ? try decodeFields(Array(row[fieldsStart..<visibleFlag])) : nil
                let visible = hasVisible ? Array(row[(visibleFlag + 1)..<(visibleFlag + 1 + replicatedCount)]) : nil
                target[key] = TargetRow(state: state, visible: visible)
            }
            let passed = Set(passedOver)
            let plan = ApplyPlanner.plan(table: table, incoming: incoming.filter { !passed.contains($0.key) }, target: target)
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
            if !writes.isEmpty { _ = try connection.pipeline(writes) }
            return Outcome(
                conflicts: plan.conflicts.count, quarantined: plan.quarantined.map { ($0.key, $0.reason) },
                lockedKeys: passedOver, rowsWritten: plan.stateWrites.count + plan.visibleWrites.count + plan.visibleDeletes.count)
        }
    }

    private func keyParameters(_ keys: [[String]]) -> [String?] {
        (0..<statements.table.key.count).map { column in PostgresArray.literal(keys.map { $0[column] }) }
    }

    /// The stored fields as text, typed by the encoding's field list. Arrays arrive in
    /// PostgreSQL's array text form.
    private func decodeFields(_ texts: [String?]) throws -> [StateField] {
        var fields: [StateField] = []
        for (field, text) in zip(statements.fields, texts) {
            switch field.type {
            case .integer:
                guard let text else { fields.append(.integer(nil)); continue }
                guard let number = Int64(text) else { throw StateDecodingError(reason: "\(field.name) is not an integer") }
                fields.append(.integer(number))
            case .text:
                fields.append(.text(text))
            case .integers:
                fields.append(.integers(try text.map { try PostgresArray.parseIntegers($0) }))
            case .texts:
                fields.append(.texts(try text.map { try PostgresArray.parseStrings($0) }))
            }
        }
        return fields
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
