import Catalog
import Foundation
import MergeCore
import Postgres

/// What `omnisync verify` found.
public struct VerifyReport: Sendable {
    /// Sites that could not be reached, with the reason.
    public var unreachable: [String]
    /// One line per difference: site, table, key, values.
    public var differences: [String]

    public func render() -> String {
        var lines = unreachable.map { "unreachable: \($0)" } + differences
        if lines.isEmpty { lines = ["all sites hold the same state"] }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Compares every site's visible `retail` rows, checks each site's metadata against its visible
/// values, and counts changes not yet delivered (an undelivered change is a difference too).
public struct Verifier: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    private struct SiteContent: Sendable {
        var rows: [ReplicatedTable: [RowKey: [String?]]] = [:]
        /// The tables whose capture is generated, by table id.
        var declaredRows: [Int: [[String]: [String?]]] = [:]
        /// The keys of those tables whose state the site holds (a row it was routed, or wrote).
        var declaredStates: [Int: Set<[String]>] = [:]
        /// The generated tables as installed at the site.
        var tables = GeneratedTables.builtIn
        var problems: [String] = []
        var cursors: [String: LinkCursor?] = [:]
        /// Per source, the rows set aside here because an application holds them locked: delivered
        /// once the lock goes, not yet.
        var waitingOnLock: [String: Int] = [:]
        /// What the site follows (omnisync.follow).
        var follows: [FollowBook.Follow] = []
    }

    static func visibleQuery(_ layout: TableLayout) -> String {
        let keys = layout.keyColumns.map { "\($0)::text" }.joined(separator: ", ")
        let values: [String]
        switch layout.shape {
        case .counter(let visible, _, _, _): values = visible
        case .record(let fields): values = fields.map(\.name)
        }
        return "SELECT \(keys), \(values.map { "\($0)::text" }.joined(separator: ", ")) FROM \(layout.retailTable)"
    }

    public func verify() async -> VerifyReport {
        let queries = SiteQueries(configuration: configuration)
        let names = configuration.sites.map(\.name)
        let router = Router(sites: configuration.sites)
        let catalog = configuration.catalog
        let contents = await queries.each(label: "verify") { site, connection -> SiteContent in
            try SiteIdentity.verify(connection, site: site.name)
            var content = SiteContent()
            content.tables = try DeclaredTableRecords.tables(connection, site: site.name, catalog: catalog)
            for table in ReplicatedTable.allCases {
                let layout = TableLayout.of(table)
                let result = try connection.query(Verifier.visibleQuery(layout), label: "read \(table.name)")
                var rows: [RowKey: [String?]] = [:]
                for row in result.rows {
                    rows[layout.rowKey(row)] = Array(row[layout.keyCount...])
                }
                content.rows[table] = rows
                content.problems += try Verifier.checkMetadata(connection, site: site.name, table: table, rows: rows)
            }
            for id in content.tables.ids {
                guard let applier = content.tables.applier(id) else { continue }
                let (rows, held, problems) = try Verifier.readDeclared(connection, site: site.name, applier: applier)
                content.declaredRows[id] = rows
                content.declaredStates[id] = held
                content.problems += problems
            }
            for other in names where router.links(other, to: site.name) {
                content.cursors[other] = .some(try Applier.readCursor(connection, source: other))
                let waiting = try Quarantine.count(connection, source: other).waitingOnLock
                if waiting > 0 { content.waitingOnLock[other] = waiting }
            }
            content.follows = try FollowBook.read(connection).follows
            return content
        }
        var report = VerifyReport(unreachable: [], differences: [])
        var reachable: [(String, SiteContent)] = []
        for (site, result) in contents {
            switch result {
            case .success(let content): reachable.append((site.name, content))
            case .failure(let problem as SiteProblem): report.differences.append("site=\(site.name) problem=\(JSONText.quote(problem.message))")
            case .failure(let error): report.unreachable.append("\(site.name): \(SiteQueries.reason(error))")
            }
        }
        for (_, content) in reachable { report.differences += content.problems }
        // A row waiting on a lock is a change not delivered yet, even when the values happen to agree
        // (two changes each missing at one site, adding up to the same).
        for (name, content) in reachable {
            for (source, count) in content.waitingOnLock.sorted(by: { $0.key < $1.key }) {
                report.differences.append("site=\(source) peer=\(name) waiting_on_lock=\(count)")
            }
        }
        let routes = RouteShares(router: router, catalog: catalog)
        report.differences += Verifier.compare(reachable, routes: routes)

        // Undelivered changes: measured at each source against the cursor stored at each target.
        var cursorsAtTarget: [String: [String: LinkCursor?]] = [:]
        for (name, content) in reachable { cursorsAtTarget[name] = content.cursors }
        let knownCursors = cursorsAtTarget
        let backlogs = await queries.each(label: "verify backlog", only: SiteQueries.answered(contents)) {
            site, connection -> [String] in
            var lines: [String] = []
            for other in names where router.links(site.name, to: other) {
                guard let cursors = knownCursors[other], let cursor = cursors[site.name] else { continue }
                let backlog = try Backlog.measure(connection, cursor: cursor)
                if backlog.undelivered > 0 {
                    lines.append("site=\(site.name) peer=\(other) undelivered=\(backlog.undelivered)")
                }
            }
            return lines
        }
        for (_, result) in backlogs { report.differences += (try? result.get()) ?? [] }
        return report
    }

    /// Rows whose visible values differ between sites (or exist at only some). A row of a routed
    /// table is compared among the sites it is routed to and those that hold it (CONTRACT §8).
    private static func compare(_ sites: [(String, SiteContent)], routes: RouteShares) -> [String] {
        guard sites.count > 1 else { return [] }
        var lines: [String] = []
        var follows = FollowIndex()
        for (name, content) in sites { follows.follow(site: name, all: content.follows) }
        for table in ReplicatedTable.allCases {
            var keys = Set<RowKey>()
            for (_, content) in sites { keys.formUnion(content.rows[table]?.keys ?? [:].keys) }
            for key in keys.sorted() {
                // A routed table: among the sites routed the row and those holding it.
                let among = sites.filter { name, content in
                    routes.routesByPlace(name, table: table, key: key, follows: follows) || content.rows[table]?[key] != nil
                }
                let values = among.map { ($0.0, $0.1.rows[table]?[key]) }
                guard let first = values.first, values.contains(where: { $0.1 != first.1 }) else { continue }
                let rendered = values.map { "\($0.0)=\(render($0.1))" }.joined(separator: " ")
                lines.append("table=\(table.name) key=\(key.json(for: table)) \(rendered)")
            }
        }
        let tables = sites[0].1.tables
        for id in tables.ids {
            guard let table = tables.applier(id)?.table else { continue }
            var keys = Set<[String]>()
            for (_, content) in sites { keys.formUnion(content.declaredRows[id]?.keys ?? [:].keys) }
            for key in keys.sorted(by: ApplyPlanner.keyPrecedes) {
                let among = sites.filter { name, content in
                    routes.routesByPlace(name, tableID: id, key: key, table: table, follows: follows)
                        || content.declaredStates[id]?.contains(key) == true
                }
                let values = among.map { ($0.0, $0.1.declaredRows[id]?[key]) }
                // The first site may lack the row (nil): that is a difference too.
                guard let first = values.first, values.contains(where: { $0.1 != first.1 }) else { continue }
                let rendered = values.map { "\($0.0)=\(render($0.1))" }.joined(separator: " ")
                lines.append("table=\(tables.name(ofTable: id) ?? table.name.description) key=\(table.keyJSON(key)) \(rendered)")
            }
        }
        return lines
    }

    /// A generated table's visible rows at one site, and where they disagree with its states.
    static func readDeclared(
        _ connection: PostgresConnection, site: String, applier: DeclaredApplier
    ) throws(PostgresError) -> (rows: [[String]: [String?]], held: Set<[String]>, problems: [String]) {
        let table = applier.table
        let keyCount = table.key.count
        var rows: [[String]: [String?]] = [:]
        for row in try connection.query(applier.statements.selectVisible, label: "read \(table.name)").rows {
            rows[row[0..<keyCount].map { $0 ?? "" }] = Array(row[keyCount...])
        }
        let states = try applier.readStatePage(connection, after: nil, limit: Int(Int32.max)).states
        var problems: [String] = []
        func prefix(_ key: [String]) -> String { "site=\(site) table=\(table.name.name.name) key=\(table.keyJSON(key))" }
        for (key, reason) in states.unreadable {
            problems.append("\(prefix(key)) metadata=unreadable reason=\(JSONText.quote(reason))")
        }
        for key in states.states.keys.sorted(by: ApplyPlanner.keyPrecedes) {
            let state: ReplicatedRow
            do {
                state = try StateEncoding.decode(states.states[key]!, empty: table.emptyRow)
            } catch {
                problems.append("\(prefix(key)) metadata=unreadable reason=\(JSONText.quote("\(error)"))")
                continue
            }
            let expected = state.isPresent ? table.visibleValues(of: state) : nil
            if rows[key] != expected {
                problems.append("\(prefix(key)) visible=\(render(rows[key])) metadata=\(render(expected))")
            }
        }
        let stated = Set(states.states.keys).union(states.unreadable.map(\.key))
        for key in rows.keys.sorted(by: ApplyPlanner.keyPrecedes) where !stated.contains(key) {
            problems.append("\(prefix(key)) visible=\(render(rows[key])) metadata=(missing)")
        }
        return (rows, stated, problems)
    }

    private static func render(_ values: [String?]?) -> String {
        guard let values else { return "(missing)" }
        return JSONText.quote(values.map { $0 ?? "NULL" }.joined(separator: ","))
    }

    /// Each visible row must equal what its metadata says, and each state must match a row.
    static func checkMetadata(
        _ connection: PostgresConnection, site: String, table: ReplicatedTable, rows: [RowKey: [String?]]
    ) throws -> [String] {
        let layout = TableLayout.of(table)
        let result = try connection.query(
            layout.sql.selectStatesFirstPage, [String(Int32.max)], label: "read \(table.name) states")
        var problems: [String] = []
        var seen = Set<RowKey>()
        for row in result.rows {
            let (key, decoded) = StateCodec.decodeStateRow(row, layout: layout)
            seen.insert(key)
            let prefix = "site=\(site) table=\(table.name) key=\(key.json(for: table))"
            let state: RowState
            switch decoded {
            case .success(let value):
                state = value
            case .failure(let error):
                problems.append("\(prefix) metadata=unreadable reason=\(JSONText.quote(error.reason))")
                continue
            }
            guard case .counter(let counter) = state else { continue }
            let present = table == .stock || counter.isPresent(resetColumn: 0)
            let expected: [String?]? = present ? counter.values.map { String($0) } : nil
            if rows[key] != expected {
                problems.append(
                    "\(prefix) visible=\(render(rows[key])) metadata=\(render(expected))")
            }
        }
        for key in rows.keys.sorted() where !seen.contains(key) {
            problems.append("site=\(site) table=\(table.name) key=\(key.json(for: table)) visible=\(render(rows[key])) metadata=(missing)")
        }
        return problems
    }
}
