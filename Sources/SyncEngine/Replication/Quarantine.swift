import Postgres

/// A row whose change from a source cannot be applied at a target, held in the target's
/// `omnisync.quarantine` (schema/0004_quarantine.sql) until a person retries or discards it.
struct QuarantineEntry: Sendable, Equatable {
    let tableID: Int
    let key: RowKey
    let reason: String
}

/// Reads and writes the quarantine inside an apply transaction.
enum Quarantine {
    /// Errors caused by one row's values (data exceptions, constraint violations, errors raised by
    /// a trigger, program limits such as an index row too large): isolating the row is right.
    /// Anything else (a missing table, a syntax error, a lost connection) concerns the whole site.
    static func isRowError(_ error: PostgresError) -> Bool {
        guard error.category == .query || error.category == .invalidInput else { return false }
        guard let state = error.sqlState else { return error.category == .invalidInput }
        return ["22", "23", "P0", "54"].contains(String(state.prefix(2)))
    }

    static let selectHeld = """
        SELECT q.table_id::text, q.k1, q.k2, q.retry::text FROM omnisync.quarantine AS q
        JOIN unnest($2::int[], $3::text[], $4::text[]) AS k(table_id, k1, k2)
          ON q.table_id = k.table_id AND q.k1 = k.k1 AND q.k2 = k.k2
        WHERE q.source_site = $1
        """
    static let countHeld = """
        UPDATE omnisync.quarantine AS q SET held = q.held + 1, last_seen = now()
        FROM unnest($2::int[], $3::text[], $4::text[]) AS k(table_id, k1, k2)
        WHERE q.source_site = $1 AND q.table_id = k.table_id AND q.k1 = k.k1 AND q.k2 = k.k2
        """
    static let release = """
        DELETE FROM omnisync.quarantine AS q
        USING unnest($2::int[], $3::text[], $4::text[]) AS k(table_id, k1, k2)
        WHERE q.source_site = $1 AND q.table_id = k.table_id AND q.k1 = k.k1 AND q.k2 = k.k2
        """
    static let hold = """
        INSERT INTO omnisync.quarantine AS q (source_site, table_id, k1, k2, reason)
        SELECT $1, u.table_id, u.k1, u.k2, u.reason
        FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS u(table_id, k1, k2, reason)
        ON CONFLICT (source_site, table_id, k1, k2) DO UPDATE
           SET held = q.held + 1, last_seen = now(), reason = excluded.reason, retry = false
        RETURNING q.table_id::text, q.k1, q.k2, (q.held = 1)::text
        """
    static let selectRetries = "SELECT table_id::text, k1, k2 FROM omnisync.quarantine WHERE source_site = $1 AND retry"
    static let countRows = "SELECT count(*) FROM omnisync.quarantine WHERE source_site = $1"

    /// How many rows of `source` are held here.
    static func count(_ connection: PostgresConnection, source: String) throws -> Int {
        Int(try connection.query(countRows, [source], label: "count quarantine").rows.first?[0] ?? "") ?? 0
    }

    private static func parameters(_ source: String, _ keys: [(Int, RowKey)]) -> [String?] {
        [
            source, PostgresArray.literal(keys.map { String($0.0) }), PostgresArray.literal(keys.map { $0.1.k1 }),
            PostgresArray.literal(keys.map { $0.1.k2 ?? "" }),
        ]
    }

    private static func key(_ row: [String?]) -> (Int, RowKey)? {
        guard let table = row[0].flatMap({ Int($0) }), let k1 = row[1] else { return nil }
        let k2 = row[2] ?? ""
        let arity = ReplicatedTable(rawValue: table)?.keyColumns.count ?? 2
        return (table, RowKey(k1, arity > 1 ? k2 : nil))
    }

    /// Which of `keys` are quarantined for `source` here: held ones, and ones marked for retry.
    static func lookup(
        _ connection: PostgresConnection, source: String, keys: [(Int, RowKey)]
    ) throws -> (held: Set<QuarantinedKey>, retrying: Set<QuarantinedKey>) {
        guard !keys.isEmpty else { return ([], []) }
        let result = try connection.query(selectHeld, parameters(source, keys), label: "look up quarantine")
        var held = Set<QuarantinedKey>()
        var retrying = Set<QuarantinedKey>()
        for row in result.rows {
            guard let (table, key) = key(row) else { continue }
            if row[3] == "true" {
                retrying.insert(QuarantinedKey(tableID: table, key: key))
            } else {
                held.insert(QuarantinedKey(tableID: table, key: key))
            }
        }
        return (held, retrying)
    }

    static func countHeld(_ connection: PostgresConnection, source: String, keys: [QuarantinedKey]) throws {
        guard !keys.isEmpty else { return }
        try connection.query(countHeld, parameters(source, keys.map { ($0.tableID, $0.key) }), label: "count held changes")
    }

    static func release(_ connection: PostgresConnection, source: String, keys: [QuarantinedKey]) throws {
        guard !keys.isEmpty else { return }
        try connection.query(release, parameters(source, keys.map { ($0.tableID, $0.key) }), label: "release quarantine")
    }

    /// Holds the entries; returns those quarantined for the first time (to be logged once).
    static func hold(_ connection: PostgresConnection, source: String, entries: [QuarantineEntry]) throws -> [QuarantineEntry] {
        guard !entries.isEmpty else { return [] }
        var unique: [QuarantinedKey: QuarantineEntry] = [:]
        for entry in entries { unique[QuarantinedKey(tableID: entry.tableID, key: entry.key)] = entry }
        let list = Array(unique.values)
        var params = parameters(source, list.map { ($0.tableID, $0.key) })
        params.append(PostgresArray.literal(list.map(\.reason)))
        let result = try connection.query(hold, params, label: "quarantine rows")
        let fresh = Set(result.rows.filter { $0[3] == "true" }.compactMap { key($0).map { QuarantinedKey(tableID: $0.0, key: $0.1) } })
        return list.filter { fresh.contains(QuarantinedKey(tableID: $0.tableID, key: $0.key)) }
    }

    /// Rows of `source` that a person asked to retry.
    static func retries(_ connection: PostgresConnection, source: String) throws -> [OutboxRecord] {
        try connection.query(selectRetries, [source], label: "read quarantine retries").rows.compactMap { row in
            key(row).map { OutboxRecord(txid: "0", id: 0, tableID: $0.0, key: $0.1) }
        }
    }
}

struct QuarantinedKey: Hashable, Sendable {
    let tableID: Int
    let key: RowKey
}
