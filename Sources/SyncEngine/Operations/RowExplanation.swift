import MergeCore
import Postgres

/// `omnisync explain`: how one row's merged value came to be at one site, from the state the
/// engine keeps for it (the same columns `TableLayout.selectStates` ships and `StateCodec`
/// decodes). Rendering is pure: a decoded state in, lines or one JSON object out.
///
/// Counters (stock, cart items), per column: the reset that applies (a physical count, or the
/// cart deletes joined) with what it had seen of each site; then each site's contribution, its
/// entry of the row's clock, and its change since the reset (contribution − observed); the
/// result is `base + Σ change` (`CounterRow.value`). Records: where and when they were created.
public struct RowExplanation: Sendable {
    /// The row's sync state at the site.
    public enum State: Sendable {
        case counter(CounterRow)
        case record(ImmutableRecord)
        /// The state columns could not be read (the row would be quarantined when shipped).
        case undecodable(reason: String)
        /// A visible row with no sync state: the engine does not know it.
        case missing
    }

    public let site: String
    public let table: ReplicatedTable
    /// The key values, in key order.
    public let key: [String]
    /// The visible row's columns after the key, as text; `nil` when the site has no visible row.
    public let visible: [String?]?
    public let state: State

    public init(site: String, table: ReplicatedTable, key: [String], visible: [String?]?, state: State) {
        self.site = site
        self.table = table
        self.key = key
        self.visible = visible
        self.state = state
    }

    /// Whether the state explains the row (exit 0); otherwise it is unknown or unreadable (exit 1).
    public var isExplained: Bool {
        switch state {
        case .counter, .record: return true
        case .undecodable, .missing: return false
        }
    }

    // MARK: - Naming the row

    /// `retail.stock` or `stock`.
    public static func table(named name: String) -> ReplicatedTable? {
        let bare = name.hasPrefix("retail.") ? String(name.dropFirst("retail.".count)) : name
        return ReplicatedTable.allCases.first { $0.name == bare }
    }

    /// Why `key` cannot name a row of `table`, or `nil` when it can.
    public static func keyProblem(_ key: [String], for table: ReplicatedTable) -> String? {
        let layout = TableLayout.of(table)
        guard key.count == layout.keyCount else {
            return "retail.\(table.name) has \(layout.keyCount) key column(s) (\(layout.keyColumns.joined(separator: ", "))), "
                + "\(key.count) value(s) given"
        }
        for (index, type) in layout.keyTypes.enumerated() where type == "int" && Int32(key[index]) == nil {
            return "\(layout.keyColumns[index]) must be an integer, not '\(key[index])'"
        }
        return nil
    }

    // MARK: - Reading

    /// Reads the row at one site; `nil` when the site has neither a visible row nor a state for it.
    public static func read(
        table: ReplicatedTable, key: [String], site: String, connection: PostgresConnection
    ) throws(PostgresError) -> RowExplanation? {
        let layout = TableLayout.of(table)
        let match = zip(layout.keyColumns, layout.keyTypes).enumerated().map { index, column in
            "\(column.0) = $\(index + 1)::\(column.1)"
        }.joined(separator: " AND ")
        let visibleColumns: [String]
        switch layout.shape {
        case .counter(let visible, _, _, _): visibleColumns = visible
        case .record(let fields): visibleColumns = fields.map(\.name)
        }
        let visibleRows = try connection.query(
            "SELECT \(visibleColumns.map { "\($0)::text" }.joined(separator: ", ")) FROM \(layout.retailTable) WHERE \(match)",
            key, label: "explain visible row"
        ).rows
        let stateRows = try connection.query(
            "SELECT \(layout.stateColumns.map { "\($0)::text" }.joined(separator: ", ")) FROM \(layout.stateTable) WHERE \(match)",
            key, label: "explain row state"
        ).rows
        let visible = visibleRows.first
        guard let stateColumns = stateRows.first else {
            guard let visible else { return nil }
            return RowExplanation(site: site, table: table, key: key, visible: visible, state: .missing)
        }
        let state: State
        do {
            switch try StateCodec.decode(layout, state: stateColumns[...], fields: visible ?? []) {
            case .counter(let row): state = .counter(row)
            case .record(let record): state = .record(record)
            }
        } catch {
            state = .undecodable(reason: error.reason)
        }
        return RowExplanation(site: site, table: table, key: key, visible: visible, state: state)
    }

    /// The outcome of looking a row up at the configured sites.
    public typealias Lookup = ExplainLookup<RowExplanation>

    /// Reads the row at `siteName`, or at the first site in configuration order that can be reached.
    public static func lookUp(
        configuration: Configuration, siteName: String?, table: ReplicatedTable, key: [String]
    ) async -> Lookup {
        let only = siteName.map { Set([$0]) }
        let results = await SiteQueries(configuration: configuration).each(label: "explain", only: only) { site, connection in
            try read(table: table, key: key, site: site.name, connection: connection)
        }
        return outcome(of: results, siteName: siteName)
    }

    /// The first site's answer, in configuration order: the row, no such row, a failure, or
    /// every site (or the one asked for) unreachable.
    static func outcome<Found: Sendable>(
        of results: [(site: SiteConfig, result: Result<Found?, any Error>)], siteName: String?
    ) -> ExplainLookup<Found> {
        var unreachable: [(site: String, reason: String)] = []
        for (site, result) in results {
            if let siteName, site.name != siteName { continue }
            switch result {
            case .success(let explanation?): return .found(explanation)
            case .success(nil): return .unknown(site: site.name)
            case .failure(let error as ExplainKeyProblem): return .badKey(site: site.name, reason: error.message)
            case .failure(let error as PostgresError) where error.category == .connection:
                unreachable.append((site.name, SiteQueries.reason(error)))
            case .failure(let error):
                return .failed(site: site.name, reason: SiteQueries.reason(error))
            }
        }
        return .unreachable(unreachable)
    }

    // MARK: - The facts, once, for both renderings

    /// One site's part in a counter column.
    struct SiteTerm: Equatable {
        let site: SiteName
        /// The site's entry of the row's vector clock: how many of its changes the row reflects.
        let clock: Int64
        let contribution: Int64
        /// What the reset had seen of this site's contribution (0 without a reset).
        let observed: Int64
        var since: Int64 { contribution.saturatingSubtract(observed) }
    }

    /// What a reset had seen of one site.
    struct SeenTerm: Equatable {
        let site: SiteName
        let clock: Int64
        let observed: Int64
    }

    struct ColumnFacts {
        let name: String
        let visible: String?
        let merged: Int64
        let reset: CounterReset?
        let seen: [SeenTerm]
        let terms: [SiteTerm]

        var differs: Bool { visible.flatMap { Int64($0) } != merged }
    }

    private var layoutColumns: [String] {
        switch TableLayout.of(table).shape {
        case .counter(let visible, _, _, _): return visible
        case .record(let fields): return fields.map(\.name)
        }
    }

    /// Counts reset `on_hand`; cart deletes reset `quantity`.
    private var resetKind: String { table == .cartItems ? "delete" : "count" }

    func columnFacts(_ row: CounterRow) -> [ColumnFacts] {
        layoutColumns.enumerated().map { column, name in
            let reset = row.resets[column]
            let observed = reset?.observed ?? [:]
            let sites = Set(row.clock.entries.keys).union(row.contributions.keys).union(observed.keys).sorted()
            // A site that never changed this column has no part in it (the clock is the row's).
            let terms = sites.map { site in
                SiteTerm(
                    site: site, clock: row.clock[site], contribution: row.contribution(of: site)[column],
                    observed: observed[site] ?? 0)
            }.filter { $0.contribution != 0 || $0.observed != 0 }
            let seen = (reset.map { Set($0.clock.entries.keys).union($0.observed.keys).sorted() } ?? []).map { site in
                SeenTerm(site: site, clock: reset?.clock[site] ?? 0, observed: observed[site] ?? 0)
            }
            return ColumnFacts(
                name: name, visible: visible.map { $0[column] } ?? nil, merged: row.value(column: column), reset: reset,
                seen: seen, terms: terms)
        }
    }

    /// Sites with changes no delete had seen: what keeps a cart item present (add wins).
    func unseenByDeletes(_ row: CounterRow) -> [SeenTerm] {
        guard let reset = row.resets[0] else { return [] }
        return row.clock.sites.filter { row.clock[$0] > reset.clock[$0] }.map {
            SeenTerm(site: $0, clock: row.clock[$0], observed: reset.clock[$0])
        }
    }

    private var keyText: String {
        zip(table.keyColumns, key).map { "\($0)=\(Self.quoted($1))" }.joined(separator: " ")
    }

    // MARK: - Text

    /// One fact per line, for a person.
    public func renderText() -> [String] {
        var lines = ["row: retail.\(table.name) \(keyText) read at site \(site)"]
        switch state {
        case .missing:
            lines.append("state: none: the row is visible here but omnisync has no sync state for it")
            lines.append("  visible: " + visibleText)
        case .undecodable(let reason):
            lines.append("state: unreadable: \(reason)")
            if visible != nil { lines.append("  visible: " + visibleText) }
        case .record(let record):
            lines.append("record: created at site \(record.stamp.site) at \(Self.time(record.stamp.time)) (hybrid time \(record.stamp.time))")
            if visible == nil {
                lines.append("visible: none: the record's state is here but its row is not")
            }
            for (name, value) in zip(layoutColumns, record.fields) {
                lines.append("  \(name)=\(value.map(Self.quoted) ?? "NULL")")
            }
            lines.append("merge: immutable; the same key created elsewhere with other content would be a duplicate_key conflict")
        case .counter(let row):
            if table == .cartItems {
                let present = row.isPresent(resetColumn: 0)
                let shown = visible != nil
                var line = "present: \(present ? "yes" : "no") (visible row: \(shown ? "yes" : "no"))"
                if present != shown { line += "  <- DIFFERS: a delivery is being applied, or the row needs attention" }
                lines.append(line)
            }
            lines.append("clock: \(row.clock)")
            for facts in columnFacts(row) {
                lines += columnText(facts, row: row)
            }
        }
        return lines
    }

    private var visibleText: String {
        guard let visible else { return "none" }
        return zip(layoutColumns, visible).map { "\($0)=\($1 ?? "NULL")" }.joined(separator: " ")
    }

    private func columnText(_ facts: ColumnFacts, row: CounterRow) -> [String] {
        var header = "\(facts.name): visible=\(facts.visible ?? "none") merged=\(facts.merged)"
        let expectsVisible = table != .cartItems || row.isPresent(resetColumn: 0)
        if facts.differs && (expectsVisible || facts.visible != nil) {
            header += "  <- DIFFERS: a delivery is being applied, or the row needs attention"
        }
        var lines = [header]
        if let reset = facts.reset {
            let what = resetKind == "count"
                ? "count: counted \(reset.base) at site \(reset.stamp.site)"
                : "deletes: the latest at site \(reset.stamp.site)"
            lines.append("  \(what) at \(Self.time(reset.stamp.time)) (hybrid time \(reset.stamp.time))")
            let seenWhat = resetKind == "count" ? "the count" : "the deletes"
            if facts.seen.isEmpty { lines.append("  \(seenWhat) had seen: nothing") }
            for seen in facts.seen {
                lines.append("  \(seenWhat) had seen of \(seen.site): clock=\(seen.clock) contribution=\(seen.observed)")
            }
            if resetKind == "delete" {
                let unseen = unseenByDeletes(row)
                if unseen.isEmpty { lines.append("  every change was seen by a delete: the item is deleted") }
                for term in unseen {
                    lines.append("  not seen by any delete: \(term.site) clock=\(term.clock) (deletes had seen \(term.observed)): add wins")
                }
            }
        } else {
            lines.append("  \(resetKind == "count" ? "count" : "delete"): none; every contribution counts in full")
        }
        for term in facts.terms {
            lines.append(
                "  site \(term.site): clock=\(term.clock) contribution=\(term.contribution) observed=\(term.observed) since=\(Self.signed(term.since))")
        }
        let base = facts.reset?.base ?? 0
        let sum = ([String(base)] + facts.terms.map { Self.signed($0.since) }).joined(separator: " ")
        lines.append("  result: \(sum) = \(facts.merged)")
        return lines
    }

    // MARK: - JSON

    /// One JSON object with the same facts, keys in a fixed order.
    public func renderJSON() -> String {
        var pairs: [(String, String)] = [
            ("site", JSONText.quote(site)),
            ("table", JSONText.quote("retail.\(table.name)")),
            ("key", JSONText.object(zip(table.keyColumns, key).map { ($0, JSONText.quote($1)) })),
        ]
        let visibleJSON = visible.map { values in
            JSONText.object(zip(layoutColumns, values).map { name, value in
                (name, table.isCounter ? (value.flatMap { Int64($0) }.map(String.init) ?? JSONText.value(value)) : JSONText.value(value))
            })
        } ?? "null"
        switch state {
        case .missing:
            pairs += [("state", JSONText.quote("missing")), ("visible", visibleJSON)]
        case .undecodable(let reason):
            pairs += [("state", JSONText.quote("undecodable")), ("error", JSONText.quote(reason)), ("visible", visibleJSON)]
        case .record(let record):
            pairs += [
                ("state", JSONText.quote("record")),
                ("visible", visibleJSON),
                ("origin", JSONText.quote(record.stamp.site)),
                ("created_at", JSONText.quote(Self.time(record.stamp.time))),
                ("hlc", String(record.stamp.time)),
                ("fields", JSONText.object(zip(layoutColumns, record.fields).map { ($0, JSONText.value($1)) })),
            ]
        case .counter(let row):
            pairs += [("state", JSONText.quote("counter")), ("visible", visibleJSON)]
            if table == .cartItems {
                pairs.append(("present", row.isPresent(resetColumn: 0) ? "true" : "false"))
            }
            pairs.append(("clock", JSONText.object(row.clock.sites.map { ($0, String(row.clock[$0])) })))
            pairs.append(("columns", "[" + columnFacts(row).map { columnJSON($0, row: row) }.joined(separator: ",") + "]"))
        }
        return JSONText.object(pairs)
    }

    private func columnJSON(_ facts: ColumnFacts, row: CounterRow) -> String {
        var resetJSON = "null"
        if let reset = facts.reset {
            var parts: [(String, String)] = [("kind", JSONText.quote(resetKind))]
            if resetKind == "count" { parts.append(("counted", String(reset.base))) }
            parts += [
                ("site", JSONText.quote(reset.stamp.site)),
                ("time", JSONText.quote(Self.time(reset.stamp.time))),
                ("hlc", String(reset.stamp.time)),
                ("seen", "[" + facts.seen.map {
                    JSONText.object([("site", JSONText.quote($0.site)), ("clock", String($0.clock)), ("contribution", String($0.observed))])
                }.joined(separator: ",") + "]"),
            ]
            if resetKind == "delete" {
                parts.append(("unseen", "[" + unseenByDeletes(row).map {
                    JSONText.object([("site", JSONText.quote($0.site)), ("clock", String($0.clock)), ("seen_by_deletes", String($0.observed))])
                }.joined(separator: ",") + "]"))
            }
            resetJSON = JSONText.object(parts)
        }
        let visibleValue = facts.visible.flatMap { Int64($0) }.map(String.init) ?? JSONText.value(facts.visible)
        return JSONText.object([
            ("name", JSONText.quote(facts.name)),
            ("visible", visibleValue),
            ("merged", String(facts.merged)),
            ("differs", facts.differs ? "true" : "false"),
            ("reset", resetJSON),
            ("sites", "[" + facts.terms.map {
                JSONText.object([
                    ("site", JSONText.quote($0.site)), ("clock", String($0.clock)), ("contribution", String($0.contribution)),
                    ("observed", String($0.observed)), ("since", String($0.since)),
                ])
            }.joined(separator: ",") + "]"),
            ("result", String(facts.merged)),
        ])
    }

    // MARK: - Formatting

    /// A hybrid time (microseconds since the Unix epoch) as UTC ISO 8601 with microseconds.
    static func time(_ microseconds: Int64) -> String {
        let (seconds, micros) = floorDivision(microseconds, 1_000_000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor, remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    private static func signed(_ value: Int64) -> String {
        value < 0 ? "- \(value.magnitude)" : "+ \(value)"
    }

    /// A key value as typed, quoted only when it would not read as one word.
    private static func quoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.:/@".unicodeScalars.contains(scalar)
        }
        return plain ? text : JSONText.quote(text)
    }
}

/// The outcome of looking a row up at the configured sites, for `omnisync explain`.
public enum ExplainLookup<Found: Sendable>: Sendable {
    case found(Found)
    /// The site was reached and has no such row.
    case unknown(site: String)
    /// The site was reached but the reading failed (for instance: not migrated).
    case failed(site: String, reason: String)
    /// No site (or not the one asked for) could be reached, with each reason.
    case unreachable([(site: String, reason: String)])
    /// The key does not fit the table as the site installed it (a declared table's key is known
    /// only there): a usage error.
    case badKey(site: String, reason: String)
}

/// A key that does not fit a declared table as a site installed it.
struct ExplainKeyProblem: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
