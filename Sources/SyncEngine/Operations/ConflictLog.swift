import Foundation
import Postgres

/// Conflicts recorded at any site, merged by id (the same conflict detected at several sites is
/// listed once, with every site that holds it).
public struct ConflictListing: Sendable {
    public struct Entry: Sendable, Equatable {
        public let id: String
        public let kind: String
        public let site: String
        public let sites: [String]
        public let table: String
        public let key: String
        public let detail: String
        public let detectedAt: String
        public let resolvedAt: String?
    }

    public var entries: [Entry]
    public var unreachable: [String]
    public var anyReachable: Bool

    public func render(json: Bool) -> String {
        if json {
            return entries.map { entry in
                JSONText.object([
                    ("id", JSONText.quote(entry.id)), ("kind", JSONText.quote(entry.kind)),
                    ("site", JSONText.quote(entry.site)),
                    ("sites", "[" + entry.sites.map(JSONText.quote).joined(separator: ",") + "]"),
                    ("table", JSONText.quote(entry.table)), ("key", entry.key),
                    ("detected_at", JSONText.quote(entry.detectedAt)), ("resolved_at", JSONText.value(entry.resolvedAt)),
                    ("detail", entry.detail),
                ]) + "\n"
            }.joined()
        }
        if entries.isEmpty { return "no conflicts\n" }
        return entries.map { entry in
            let state = entry.resolvedAt.map { "resolved \($0)" } ?? "open"
            return "\(entry.id) \(entry.kind) site=\(entry.site) table=\(entry.table) key=\(entry.key) detected=\(entry.detectedAt) \(state)\n  \(entry.detail)\n"
        }.joined()
    }
}

public enum ResolveOutcome: Sendable, Equatable {
    case resolved(sites: [String])
    case notFound
    case unreachable(message: String)
}

/// Lists and resolves the conflicts the daemon recorded (`omnisync conflicts`).
public struct ConflictLog: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    static let listQuery = """
        SELECT id, kind, site, table_name, row_key::text, detail::text,
               to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        FROM omnisync.conflicts
        WHERE $1::boolean OR resolved_at IS NULL
        ORDER BY detected_at, id
        """

    public func list(includeResolved: Bool) async -> ConflictListing {
        let results = await SiteQueries(configuration: configuration).each(label: "conflicts") { _, connection in
            try connection.query(ConflictLog.listQuery, [includeResolved ? "true" : "false"], label: "list conflicts").rows
        }
        var byID: [String: ConflictListing.Entry] = [:]
        var order: [String] = []
        var unreachable: [String] = []
        for (site, result) in results {
            guard case .success(let rows) = result else {
                if case .failure(let error) = result { unreachable.append("\(site.name): \(SiteQueries.reason(error))") }
                continue
            }
            for row in rows {
                let id = row[0] ?? ""
                let resolved = row[7]
                // An id resolved earlier and detected again is a new entry.
                let slot = resolved == nil ? id : "\(id)@\(resolved ?? "")"
                if let existing = byID[slot] {
                    byID[slot] = ConflictListing.Entry(
                        id: id, kind: existing.kind, site: existing.site,
                        sites: Array(Set(existing.sites + [row[2] ?? site.name])).sorted(), table: existing.table,
                        key: existing.key, detail: existing.detail, detectedAt: min(existing.detectedAt, row[6] ?? ""),
                        resolvedAt: existing.resolvedAt)
                } else {
                    order.append(slot)
                    byID[slot] = ConflictListing.Entry(
                        id: id, kind: row[1] ?? "", site: row[2] ?? site.name, sites: [row[2] ?? site.name],
                        table: row[3] ?? "", key: row[4] ?? "{}", detail: row[5] ?? "{}", detectedAt: row[6] ?? "",
                        resolvedAt: resolved)
                }
            }
        }
        let entries = order.compactMap { byID[$0] }.sorted { ($0.detectedAt, $0.id) < ($1.detectedAt, $1.id) }
        return ConflictListing(
            entries: entries, unreachable: unreachable, anyReachable: unreachable.count < configuration.sites.count)
    }

    /// Marks the conflict resolved at every reachable site that holds it.
    public func resolve(id: String) async -> ResolveOutcome {
        let results = await SiteQueries(configuration: configuration).each(label: "resolve") { _, connection in
            try connection.query(
                "UPDATE omnisync.conflicts SET resolved_at = now() WHERE id = $1 AND resolved_at IS NULL", [id],
                label: "resolve conflict"
            ).affectedRows
        }
        var resolved: [String] = []
        var failures: [String] = []
        for (site, result) in results {
            switch result {
            case .success(let count) where count > 0: resolved.append(site.name)
            case .success: break
            case .failure(let error): failures.append("\(site.name): \(SiteQueries.reason(error))")
            }
        }
        if !resolved.isEmpty { return .resolved(sites: resolved) }
        if !failures.isEmpty { return .unreachable(message: failures.joined(separator: "; ")) }
        return .notFound
    }
}
