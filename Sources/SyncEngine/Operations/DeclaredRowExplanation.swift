import Catalog
import MergeCore
import Postgres

/// `omnisync explain` for a table whose capture is generated (`retail.customers`,
/// `retail.loyalty`, `retail.order_status`): per column, its rule and what decided its value —
/// a counter's physical count with what it had seen and each site's contribution since; the
/// write that a `lww` or `status` column shows, with where and when it was made (and, for a
/// status, what it had seen). Rendering is pure: a decoded state in, lines or one JSON object out.
public struct DeclaredRowExplanation: Sendable {
    public enum State: Sendable {
        case row(ReplicatedRow)
        /// The state columns could not be read (the row would be quarantined when shipped).
        case undecodable(reason: String)
        /// A visible row with no sync state: the engine does not know it.
        case missing
    }

    public let site: String
    public let table: CaptureTable
    public let key: [String]
    /// The visible row's replicated columns as capture stores them; nil without a visible row.
    public let visible: [String?]?
    public let state: State

    public init(site: String, table: CaptureTable, key: [String], visible: [String?]?, state: State) {
        self.site = site
        self.table = table
        self.key = key
        self.visible = visible
        self.state = state
    }

    public var isExplained: Bool {
        if case .row = state { return true }
        return false
    }

    /// The generated table named `name` (`retail.loyalty` or `loyalty`).
    public static func table(named name: String) -> CaptureTable? {
        let bare = name.hasPrefix("retail.") ? String(name.dropFirst("retail.".count)) : name
        return GeneratedTables.builtIn.ids.compactMap { GeneratedTables.builtIn.applier($0)?.table }
            .first { $0.name.name.name == bare }
    }

    /// Every table `explain` knows beyond v1's, as `retail.NAME`.
    public static var tableNames: [String] {
        GeneratedTables.builtIn.ids.compactMap { GeneratedTables.builtIn.applier($0)?.table.name.description }
    }

    public static func keyProblem(_ key: [String], for table: CaptureTable) -> String? {
        guard key.count == table.key.count else {
            return "\(table.name) has \(table.key.count) key column(s) (\(table.key.map(\.name.name).joined(separator: ", "))), "
                + "\(key.count) value(s) given"
        }
        return nil
    }

    /// Reads the row at one site; nil when the site has neither a visible row nor a state for it.
    static func read(
        table: CaptureTable, key: [String], site: String, connection: PostgresConnection
    ) throws(PostgresError) -> DeclaredRowExplanation? {
        guard let applier = GeneratedTables.builtIn.applier(Int(table.id.rawValue)) else { return nil }
        return try read(applier: applier, key: key, site: site, connection: connection)
    }

    static func read(
        applier: DeclaredApplier, key: [String], site: String, connection: PostgresConnection
    ) throws(PostgresError) -> DeclaredRowExplanation? {
        let table = applier.table
        let keyCount = table.key.count
        let match = table.key.enumerated().map { "r.\($1.name.quoted) = $\($0 + 1)::\($1.type.name)" }.joined(separator: " AND ")
        let visibleRows = try connection.query(
            applier.statements.selectVisible + " WHERE \(match)", key.map { Optional($0) }, label: "read \(table.name) row").rows
        let visible = visibleRows.first.map { Array($0[keyCount...]) }
        let read = try applier.readStates(connection, keys: [key])
        let state: State
        if let fields = read.states[key] {
            do {
                state = .row(try StateEncoding.decode(fields, empty: table.emptyRow))
            } catch {
                state = .undecodable(reason: "\(error)")
            }
        } else if let unreadable = read.unreadable.first {
            state = .undecodable(reason: unreadable.reason)
        } else {
            guard visible != nil else { return nil }
            state = .missing
        }
        return DeclaredRowExplanation(site: site, table: table, key: key, visible: visible, state: state)
    }

    /// Reads the row at `siteName`, or at the first site in configuration order that can be reached.
    public static func lookUp(
        configuration: Configuration, siteName: String?, table: CaptureTable, key: [String]
    ) async -> ExplainLookup<DeclaredRowExplanation> {
        let only = siteName.map { Set([$0]) }
        let results = await SiteQueries(configuration: configuration).each(label: "explain", only: only) { site, connection in
            try read(table: table, key: key, site: site.name, connection: connection)
        }
        return RowExplanation.outcome(of: results, siteName: siteName)
    }

    /// An application's declared table `name`, as `migrate` installed it at the site read: at
    /// `siteName`, or at the first site in configuration order that can be reached.
    public static func lookUp(
        configuration: Configuration, siteName: String?, declared name: QualifiedName, key: [String]
    ) async -> ExplainLookup<DeclaredRowExplanation> {
        let only = siteName.map { Set([$0]) }
        let catalog = configuration.catalog
        let results = await SiteQueries(configuration: configuration).each(label: "explain", only: only) {
            site, connection -> DeclaredRowExplanation? in
            try SiteIdentity.verify(connection, site: site.name)
            let tables = try DeclaredTableRecords.tables(connection, site: site.name, catalog: catalog)
            guard let applier = tables.appliers.values.first(where: { $0.table.name == name }) else {
                throw SiteProblem(site: site.name, message: "\(name) is not installed here; run omnisync migrate --site \(site.name)")
            }
            if let problem = keyProblem(key, for: applier.table) { throw ExplainKeyProblem(message: problem) }
            return try read(applier: applier, key: key, site: site.name, connection: connection)
        }
        return RowExplanation.outcome(of: results, siteName: siteName)
    }

    // MARK: - Rendering

    private var heading: String {
        "row: \(table.name) " + zip(table.key, key).map { "\($0.name.name)=\($1)" }.joined(separator: " ") + " read at site \(site)"
    }

    private static func clockText(_ clock: VectorClock) -> String {
        "{" + clock.sites.map { "\($0):\(clock[$0])" }.joined(separator: ",") + "}"
    }

    private static func stampText(_ stamp: HybridTimestamp) -> String {
        "at \(stamp.site) \(RowExplanation.time(stamp.time))"
    }

    private func ruleName(_ rule: CaptureTable.Rule) -> String {
        switch rule {
        case .counter: return "counter"
        case .lww: return "lww"
        case .greatest: return "greatest"
        case .least: return "least"
        case .status(let order): return "status(" + order.joined(separator: ", ") + ")"
        case .local: return "local"
        case .immutable: return "written once"
        }
    }

    public func renderText() -> [String] {
        var lines = [heading]
        switch state {
        case .missing:
            lines.append("no sync state: the visible row is not known to omnisync here")
            return lines
        case .undecodable(let reason):
            lines.append("sync state unreadable: \(reason)")
            return lines
        case .row(let row):
            lines.append("clock: \(Self.clockText(row.clock))")
            if let deletion = row.deletion {
                lines.append("deleted \(Self.stampText(deletion.stamp)), as of \(Self.clockText(deletion.clock))")
            }
            if !row.isPresent { lines.append("the row is deleted here: no write since the delete had not been seen") }
            let merged = table.visibleValues(of: row)
            for (index, entry) in table.replicated.enumerated() {
                let column = entry.column
                let shown = visible.map { $0[index] ?? "NULL" } ?? "(no row)"
                lines.append("\(column.name.name): visible=\(shown) merged=\(merged[index] ?? "NULL") (\(ruleName(column.rule)))")
                lines += detailText(row.columns[index], column: column, row: row).map { "  " + $0 }
            }
            return lines
        }
    }

    private func detailText(_ state: ColumnState, column: CaptureTable.Column, row: ReplicatedRow) -> [String] {
        let scale = column.counterScale
        switch state {
        case .counter(let counter):
            var lines: [String] = []
            let observed = counter.reset?.observed ?? [:]
            if let reset = counter.reset {
                lines.append("count \(Self.stampText(reset.stamp)): \(scale.text(units: reset.base)), as of \(Self.clockText(reset.clock))")
            }
            let sites = Set(counter.contributions.keys).union(observed.keys).sorted()
            for site in sites {
                let contribution = counter.contribution(of: site), seen = observed[site] ?? 0
                let since = contribution.saturatingSubtract(seen)
                lines.append(
                    "site \(site): clock=\(row.clock[site]) contribution=\(scale.text(units: contribution))"
                        + (counter.reset == nil ? "" : " observed=\(scale.text(units: seen)) since=\(since < 0 ? "" : "+")\(scale.text(units: since))"))
            }
            lines.append("= \(scale.text(units: counter.value))")
            return lines
        case .lastWriterWins(let register):
            return register.stamp.map { ["written \(Self.stampText($0))"] } ?? ["never written"]
        case .status(let status):
            guard let write = status.write else { return ["never written"] }
            return ["written \(Self.stampText(write.stamp)), having seen \(Self.clockText(write.seen))"]
        case .extremum, .local:
            return []
        }
    }

    public func renderJSON() -> String {
        var pairs: [(String, String)] = [
            ("site", JSONText.quote(site)), ("table", JSONText.quote(table.name.description)),
            ("key", table.keyJSON(key)),
        ]
        switch state {
        case .missing:
            pairs.append(("state", JSONText.quote("missing")))
        case .undecodable(let reason):
            pairs += [("state", JSONText.quote("unreadable")), ("reason", JSONText.quote(reason))]
        case .row(let row):
            let merged = table.visibleValues(of: row)
            pairs += [
                ("state", JSONText.quote("known")),
                ("clock", JSONText.object(row.clock.sites.map { ($0, String(row.clock[$0])) })),
                ("present", row.isPresent ? "true" : "false"),
            ]
            var columns: [String] = []
            for (index, entry) in table.replicated.enumerated() {
                var column: [(String, String)] = [
                    ("name", JSONText.quote(entry.column.name.name)), ("rule", JSONText.quote(ruleName(entry.column.rule))),
                    ("visible", visible.map { JSONText.value($0[index]) } ?? "null"), ("merged", JSONText.value(merged[index])),
                ]
                column += detailJSON(row.columns[index], column: entry.column, row: row)
                columns.append(JSONText.object(column))
            }
            pairs.append(("columns", "[" + columns.joined(separator: ",") + "]"))
        }
        return JSONText.object(pairs)
    }

    private func detailJSON(_ state: ColumnState, column: CaptureTable.Column, row: ReplicatedRow) -> [(String, String)] {
        func stamp(_ stamp: HybridTimestamp) -> String {
            JSONText.object([("site", JSONText.quote(stamp.site)), ("at", JSONText.quote(RowExplanation.time(stamp.time)))])
        }
        let scale = column.counterScale
        switch state {
        case .counter(let counter):
            let observed = counter.reset?.observed ?? [:]
            let sites = Set(counter.contributions.keys).union(observed.keys).sorted()
            var pairs: [(String, String)] = [
                ("sites", "[" + sites.map { site in
                    JSONText.object([
                        ("site", JSONText.quote(site)), ("clock", String(row.clock[site])),
                        ("contribution", scale.text(units: counter.contribution(of: site))),
                        ("observed", scale.text(units: observed[site] ?? 0)),
                    ])
                }.joined(separator: ",") + "]"),
            ]
            if let reset = counter.reset {
                pairs.append(("count", JSONText.object([
                    ("stamp", stamp(reset.stamp)), ("counted", scale.text(units: reset.base)),
                    ("as_of", JSONText.object(reset.clock.sites.map { ($0, String(reset.clock[$0])) })),
                ])))
            }
            return pairs
        case .lastWriterWins(let register):
            return [("written", register.stamp.map(stamp) ?? "null")]
        case .status(let status):
            guard let write = status.write else { return [("written", "null")] }
            return [
                ("written", stamp(write.stamp)),
                ("seen", JSONText.object(write.seen.sites.map { ($0, String(write.seen[$0])) })),
            ]
        case .extremum, .local:
            return []
        }
    }
}
