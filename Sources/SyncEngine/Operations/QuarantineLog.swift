import Foundation
import Postgres

/// Rows held in quarantine at any site (`omnisync quarantine`). An entry's id is `SITE:N`, the
/// site holding it and its number there. Rows set aside only because an application holds them
/// locked are not listed (nothing is wrong with them; `omnisync status` counts them per link)
/// and cannot be retried or discarded here: the daemon releases them itself.
public struct QuarantineListing: Sendable {
    public struct Entry: Sendable, Equatable {
        public let id: String
        public let site: String
        public let source: String
        public let table: String
        public let key: String
        public let reason: String
        public let held: Int
        public let retryRequested: Bool
        public let firstSeen: String
    }

    public var entries: [Entry]
    public var unreachable: [String]
    public var anyReachable: Bool

    public func render(json: Bool) -> String {
        if json {
            return entries.map { entry in
                JSONText.object([
                    ("id", JSONText.quote(entry.id)), ("site", JSONText.quote(entry.site)),
                    ("source", JSONText.quote(entry.source)), ("table", JSONText.quote(entry.table)),
                    ("key", entry.key), ("reason", JSONText.quote(entry.reason)), ("held", String(entry.held)),
                    ("retry_requested", entry.retryRequested ? "true" : "false"),
                    ("first_seen", JSONText.quote(entry.firstSeen)),
                ]) + "\n"
            }.joined()
        }
        if entries.isEmpty { return "no quarantined rows\n" }
        return entries.map { entry in
            "\(entry.id) from \(entry.source) table=\(entry.table) key=\(entry.key) held=\(entry.held)"
                + (entry.retryRequested ? " retry requested" : "") + " since \(entry.firstSeen)\n  \(entry.reason)\n"
        }.joined()
    }
}

public enum QuarantineAction: Sendable {
    case retry
    case discard
}

public enum QuarantineActionOutcome: Sendable, Equatable {
    case done(count: Int)
    case notFound
    case unreachable(message: String)
}

/// Lists quarantined rows, and marks them for retry (the daemon ships the row's current state
/// again within seconds) or discards them (later changes of the row flow again; the row's next
/// change carries its whole state).
public struct QuarantineLog: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    static let listQuery = """
        SELECT id::text, source_site, table_id::text, k1, k2, reason, held::text, retry::text,
               to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        FROM omnisync.quarantine WHERE reason <> $1 ORDER BY first_seen, id
        """

    public func list() async -> QuarantineListing {
        let catalog = configuration.catalog
        let results = await SiteQueries(configuration: configuration).each(label: "quarantine") { site, connection in
            // A site migrated for another catalog still lists its rows, the declared tables' by number.
            let tables = (try? DeclaredTableRecords.tables(connection, site: site.name, catalog: catalog)) ?? .builtIn
            return (tables, try connection.query(QuarantineLog.listQuery, [Quarantine.lockWaitReason], label: "list quarantine").rows)
        }
        var listing = QuarantineListing(entries: [], unreachable: [], anyReachable: false)
        for (site, result) in results {
            switch result {
            case .failure(let error):
                listing.unreachable.append("\(site.name): \(SiteQueries.reason(error))")
            case .success(let (tables, rows)):
                listing.anyReachable = true
                for row in rows {
                    let tableID = Int(row[2] ?? "") ?? 0
                    let key = tables.recordKey(ofTable: tableID, k1: row[3] ?? "", k2: row[4] ?? "")
                    listing.entries.append(
                        QuarantineListing.Entry(
                            id: "\(site.name):\(row[0] ?? "")", site: site.name, source: row[1] ?? "",
                            table: tables.name(ofTable: tableID) ?? "table_id \(tableID)",
                            key: tables.keyJSON(ofTable: tableID, key) ?? JSONText.quote(key.description),
                            reason: row[5] ?? "", held: Int(row[6] ?? "") ?? 0, retryRequested: row[7] == "true",
                            firstSeen: row[8] ?? ""))
                }
            }
        }
        return listing
    }

    /// Applies `action` to the entry `SITE:N`, or to every entry when `id` is "all".
    public func perform(_ action: QuarantineAction, id: String) async -> QuarantineActionOutcome {
        let statement: String
        switch action {
        case .retry:
            statement = "UPDATE omnisync.quarantine SET retry = true WHERE ($1::bigint IS NULL OR id = $1::bigint) AND reason <> $2"
        case .discard:
            statement = "DELETE FROM omnisync.quarantine WHERE ($1::bigint IS NULL OR id = $1::bigint) AND reason <> $2"
        }
        var sites = configuration.sites
        var number: String?
        if id != "all" {
            let parts = id.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, Int64(parts[1]) != nil, let site = configuration.site(named: parts[0]) else {
                return .notFound
            }
            sites = [site]
            number = parts[1]
        }
        let scoped = Configuration(path: configuration.path, daemon: configuration.daemon, sites: sites)
        let entry = number
        let results = await SiteQueries(configuration: scoped).each(label: "quarantine") { _, connection in
            try connection.query(statement, [entry, Quarantine.lockWaitReason], label: "quarantine action").affectedRows
        }
        var count = 0
        var failures: [String] = []
        for (site, result) in results {
            switch result {
            case .success(let affected): count += affected
            case .failure(let error): failures.append("\(site.name): \(SiteQueries.reason(error))")
            }
        }
        if count > 0 { return .done(count: count) }
        if !failures.isEmpty { return .unreachable(message: failures.joined(separator: "; ")) }
        return .notFound
    }
}
