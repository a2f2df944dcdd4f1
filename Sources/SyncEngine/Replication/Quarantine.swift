import Postgres

/// A row whose change from a source cannot be applied at a target, held in the target's
/// `omnisync.quarantine` (schema/0004_quarantine.sql) until a person retries or discards it.
struct QuarantineEntry: Sendable, Equatable {
    let tableID: Int
    let key: RowKey
    /// Stored in the target's quarantine for the person who fixes the row: the whole error.
    let reason: String
    /// What the log says: the reason without values of the row (a DETAIL left out).
    let loggedReason: String

    init(tableID: Int, key: RowKey, reason: String, loggedReason: String? = nil) {
        self.tableID = tableID
        self.key = key
        self.reason = reason
        self.loggedReason = loggedReason ?? reason
    }
}

/// Reads and writes the quarantine inside an apply transaction.
enum Quarantine {
    /// Errors caused by one row's values (data exceptions, constraint violations, errors raised by
    /// a trigger, program limits such as an index row too large): isolating the row is right.
    /// Anything else (a missing table, a syntax error, a lost connection) concerns the whole site.
    static func isRowError(_ error: PostgresError) -> Bool {
        guard error.category == .query || error.category == .invalidInput else { return false }
        guard let state = error.sqlState else { return error.category == .invalidInput }
        // An undefined column: a declared column dropped at this site holds its rows here, not the link.
        return ["22", "23", "P0", "54"].contains(String(state.prefix(2))) || state == "42703"
    }

    /// The reason that marks a row set aside because an application holds it locked here
    /// (guarantee 10), not because anything is wrong with it. Such a row is tried again with every
    /// batch that names it and by the link's own short retries, and released once it applies;
    /// `omnisync quarantine` leaves it out and `omnisync status` counts it per link.
    static let lockWaitReason = "waiting on a row lock held at this site"

    static let selectHeld = """
        SELECT q.table_id::text, q.k1, q.k2, q.retry::text, (q.reason = $5)::text FROM omnisync.quarantine AS q
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
    /// Sets rows aside as waiting on a lock; a row already waiting keeps its `first_seen` and
    /// counts one more attempt in `held`. Returns which were set aside by this transaction.
    static let holdLockWaits = """
        INSERT INTO omnisync.quarantine AS q (source_site, table_id, k1, k2, reason)
        SELECT $1, u.table_id, u.k1, u.k2, $5
        FROM unnest($2::int[], $3::text[], $4::text[]) AS u(table_id, k1, k2)
        ON CONFLICT (source_site, table_id, k1, k2) DO UPDATE
           SET last_seen = now(), retry = false, reason = excluded.reason,
               held = CASE WHEN q.reason = excluded.reason THEN q.held + 1 ELSE 1 END,
               first_seen = CASE WHEN q.reason = excluded.reason THEN q.first_seen ELSE now() END
        RETURNING q.table_id::text, q.k1, q.k2, (q.first_seen = now())::text
        """
    static let selectRetries = """
        SELECT table_id::text, k1, k2 FROM omnisync.quarantine WHERE source_site = $1 AND retry AND reason <> $2
        """
    static let selectLockWaits = "SELECT table_id::text, k1, k2 FROM omnisync.quarantine WHERE source_site = $1 AND reason = $2"
    static let countRows = """
        SELECT count(*), count(*) FILTER (WHERE reason = $2) FROM omnisync.quarantine WHERE source_site = $1
        """

    /// How many rows of `source` are held here, and how many of those wait on a lock.
    static func count(_ connection: some StatementRunner, source: String) throws(PostgresError) -> (all: Int, waitingOnLock: Int) {
        let row = try connection.query(countRows, [source, lockWaitReason], label: "count quarantine").rows.first
        return (Int(row?[0] ?? "") ?? 0, Int(row?[1] ?? "") ?? 0)
    }

    private static func parameters(_ source: String, _ keys: [QuarantinedKey]) -> [String?] {
        [
            source, PostgresArray.literal(keys.map { String($0.tableID) }), PostgresArray.literal(keys.map(\.k1)),
            PostgresArray.literal(keys.map(\.k2)),
        ]
    }

    /// A quarantine row's key exactly as stored, whatever shape the record had.
    private static func key(_ row: [String?]) -> QuarantinedKey? {
        guard let table = row[0].flatMap({ Int($0) }), let k1 = row[1] else { return nil }
        return QuarantinedKey(tableID: table, k1: k1, k2: row[2] ?? "")
    }

    /// Which of a batch's keys the quarantine holds for a source.
    struct Lookup: Sendable {
        /// Quarantined: the batch's changes of these rows wait behind the held one.
        var held: Set<QuarantinedKey> = []
        /// Marked for retry by a person: applied, and released if they apply.
        var retrying: Set<QuarantinedKey> = []
        /// Waiting on a lock: tried again (without waiting), and released if they can be locked.
        var waiting: Set<QuarantinedKey> = []
    }

    /// Which of `keys` are quarantined for `source` here: held ones, ones marked for retry, and
    /// ones waiting on a lock.
    static func lookup(_ connection: some StatementRunner, source: String, keys: [QuarantinedKey]) throws(PostgresError) -> Lookup {
        guard !keys.isEmpty else { return Lookup() }
        let result = try connection.query(
            selectHeld, parameters(source, keys) + [lockWaitReason], label: "look up quarantine")
        var lookup = Lookup()
        for row in result.rows {
            guard let key = key(row) else { continue }
            if row[4] == "true" {
                lookup.waiting.insert(key)
            } else if row[3] == "true" {
                lookup.retrying.insert(key)
            } else {
                lookup.held.insert(key)
            }
        }
        return lookup
    }

    /// Sets `keys` aside as waiting on a lock; returns those set aside for the first time.
    static func holdLockWaits(
        _ connection: some StatementRunner, source: String, keys: [QuarantinedKey]
    ) throws(PostgresError) -> [QuarantinedKey] {
        guard !keys.isEmpty else { return [] }
        let unique = Array(Set(keys))
        let result = try connection.query(
            holdLockWaits, parameters(source, unique) + [lockWaitReason], label: "set aside locked rows")
        return result.rows.filter { $0[3] == "true" }.compactMap(key)
    }

    /// Rows of `source` waiting on a lock here, as records whose current state to ship again.
    static func lockWaits(
        _ connection: some StatementRunner, source: String, tables: GeneratedTables
    ) throws(PostgresError) -> [OutboxRecord] {
        try connection.query(selectLockWaits, [source, lockWaitReason], label: "read lock waits").rows
            .compactMap { record($0, tables: tables) }
    }

    static func countHeld(_ connection: some StatementRunner, source: String, keys: [QuarantinedKey]) throws(PostgresError) {
        guard !keys.isEmpty else { return }
        try connection.query(countHeld, parameters(source, keys), label: "count held changes")
    }

    static func release(_ connection: some StatementRunner, source: String, keys: [QuarantinedKey]) throws(PostgresError) {
        guard !keys.isEmpty else { return }
        try connection.query(release, parameters(source, keys), label: "release quarantine")
    }

    /// Holds the entries; returns those quarantined for the first time (to be logged once).
    static func hold(_ connection: some StatementRunner, source: String, entries: [QuarantineEntry]) throws(PostgresError) -> [QuarantineEntry] {
        guard !entries.isEmpty else { return [] }
        var unique: [QuarantinedKey: QuarantineEntry] = [:]
        for entry in entries { unique[QuarantinedKey(entry)] = entry }
        let keys = Array(unique.keys)
        var params = parameters(source, keys)
        params.append(PostgresArray.literal(keys.map { unique[$0]?.reason }))
        let result = try connection.query(hold, params, label: "quarantine rows")
        let fresh = Set(result.rows.filter { $0[3] == "true" }.compactMap(key))
        return keys.filter { fresh.contains($0) }.compactMap { unique[$0] }
    }

    /// Rows of `source` that a person asked to retry.
    static func retries(
        _ connection: some StatementRunner, source: String, tables: GeneratedTables
    ) throws(PostgresError) -> [OutboxRecord] {
        try connection.query(selectRetries, [source, lockWaitReason], label: "read quarantine retries").rows
            .compactMap { record($0, tables: tables) }
    }

    private static func record(_ row: [String?], tables: GeneratedTables) -> OutboxRecord? {
        key(row).map { key in
            OutboxRecord(txid: "0", id: 0, tableID: key.tableID, key: tables.recordKey(ofTable: key.tableID, k1: key.k1, k2: key.k2))
        }
    }
}

/// A row's identity in the quarantine: table number and key parts as stored (a missing second
/// part is stored as the empty string).
struct QuarantinedKey: Hashable, Sendable, CustomStringConvertible {
    let tableID: Int
    let k1: String
    let k2: String

    init(tableID: Int, k1: String, k2: String) {
        self.tableID = tableID
        self.k1 = k1
        self.k2 = k2
    }

    init(tableID: Int, key: RowKey) {
        self.init(tableID: tableID, k1: key.k1, k2: key.k2 ?? "")
    }

    init(_ entry: QuarantineEntry) {
        self.init(tableID: entry.tableID, key: entry.key)
    }

    /// The key as JSON when the table is a built-in one (`{"sku":…,"location":…}`).
    var description: String { description(in: .builtIn) }

    /// The key as JSON when `tables` know the table.
    func description(in tables: GeneratedTables) -> String {
        tables.keyJSON(ofTable: tableID, tables.recordKey(ofTable: tableID, k1: k1, k2: k2))
            ?? "[\(JSONText.quote(k1)),\(JSONText.quote(k2))]"
    }
}
