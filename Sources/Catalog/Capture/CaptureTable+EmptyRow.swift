import MergeCore

extension CaptureTable {
    /// The row never written, under this table's rules: what every stored state decodes against
    /// (a status order or a reset rule is the table's, never read from the state).
    public var emptyRow: ReplicatedRow {
        ReplicatedRow(columns: replicated.map { emptyState(of: $0.column) })
    }

    func emptyState(of column: Column) -> ColumnState {
        switch column.rule {
        case .counter:
            // Add-wins deletes reset every counter and must all hold; counts decide by latest.
            return .counter(CounterColumn(resetRule: deletesAddWins ? .joined : .latestWins))
        case .lww, .immutable:
            return .lastWriterWins(LastWriterWins())
        case .greatest:
            return .extremum(Extremum(direction: .greatest, ordering: column.type.comparesAsNumber ? .number : .bytes))
        case .least:
            return .extremum(Extremum(direction: .least, ordering: column.type.comparesAsNumber ? .number : .bytes))
        case .status(let order):
            return .status(ForwardStatus(order: order))
        case .local:
            return .local
        }
    }

    /// The state table's columns after the key, in `StateEncoding` order, with their SQL types.
    public func stateFields() throws(SyntaxError) -> [(name: SQLIdentifier, type: StateFieldType)] {
        var fields: [(name: SQLIdentifier, type: StateFieldType)] = []
        for field in StateEncoding.rowFields {
            fields.append((try SQLIdentifier(exactly: field.name), field.type))
        }
        for (_, column) in replicated {
            for field in StateEncoding.fields(of: emptyState(of: column)) {
                fields.append((try CaptureNames.field(column.name, field.suffix), field.type))
            }
        }
        return fields
    }
}

/// Names of the objects capture creates, in the `omnisync` schema, readable by a DBA
/// (`omnisync."state:pos.inventory"`, column `"qty$contrib"`) and never longer than PostgreSQL's
/// 63 bytes: a longer name keeps its start and gets a hash of the whole, so two never collide.
public enum CaptureNames {
    public static func stateTable(_ table: QualifiedName) throws(SyntaxError) -> QualifiedName {
        QualifiedName(schema: try SQLIdentifier(exactly: "omnisync"), name: try object("state", table))
    }

    static func captureFunction(_ table: QualifiedName) throws(SyntaxError) -> QualifiedName {
        QualifiedName(schema: try SQLIdentifier(exactly: "omnisync"), name: try object("capture", table))
    }

    static func clampFunction(_ table: QualifiedName) throws(SyntaxError) -> QualifiedName {
        QualifiedName(schema: try SQLIdentifier(exactly: "omnisync"), name: try object("clamp", table))
    }

    static func countFunction(_ table: QualifiedName) throws(SyntaxError) -> QualifiedName {
        QualifiedName(schema: try SQLIdentifier(exactly: "omnisync"), name: try object("count", table))
    }

    public static func field(_ column: SQLIdentifier, _ suffix: String) throws(SyntaxError) -> SQLIdentifier {
        try bounded(column.name + "$" + suffix, keepingSuffix: "$" + suffix)
    }

    private static func object(_ kind: String, _ table: QualifiedName) throws(SyntaxError) -> SQLIdentifier {
        try bounded("\(kind):\(table.schema.name).\(table.name.name)", keepingSuffix: "")
    }

    /// `full` if it fits in 63 bytes; else its start, `~`, 8 hex digits of its SHA-256, and `suffix`.
    private static func bounded(_ full: String, keepingSuffix suffix: String) throws(SyntaxError) -> SQLIdentifier {
        let bytes = Array(full.utf8)
        guard bytes.count > SQLIdentifier.maxBytes else { return try SQLIdentifier(exactly: full) }
        let tag = "~" + String(SHA256.hex(bytes).prefix(8)) + suffix
        var keep = SQLIdentifier.maxBytes - tag.utf8.count
        // Never cut inside a UTF-8 sequence.
        while keep > 0, (bytes[keep] & 0b1100_0000) == 0b1000_0000 { keep -= 1 }
        return try SQLIdentifier(exactly: String(decoding: bytes[..<keep], as: UTF8.self) + tag)
    }
}

extension CaptureTable {
    /// The replicated columns of the visible row `row` shows, as capture stores them: a counter's
    /// sum in its column's units (`12.345` for 12345 thousandths of a `numeric(12,3)`), every
    /// other column as merged.
    public func visibleValues(of row: ReplicatedRow) -> [String?] {
        zip(replicated, row.columns).map { entry, state in
            if case .counter(let counter) = state { return entry.column.counterScale.text(units: counter.value) }
            return state.visibleValue
        }
    }
}
