import MergeCore

/// A replicated row's state as shipped between sites.
enum RowState: Sendable, Equatable {
    case counter(CounterRow)
    case record(ImmutableRecord)
}

/// A state that could not be read (corrupt or hostile metadata): the row is quarantined.
struct StateDecodingError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// Converts between the text columns of the state tables and MergeCore values.
enum StateCodec {
    /// Decodes the state columns (in `TableLayout.stateColumns` order) of one row.
    /// For records, `fields` are the visible columns after the key.
    static func decode(
        _ layout: TableLayout, state: ArraySlice<String?>, fields: [String?] = []
    ) throws(StateDecodingError) -> RowState {
        let values = Array(state)
        switch layout.shape {
        case .counter(let visible, _, _, let hasBase):
            let columns = visible.count
            do {
                let sites = try PostgresArray.parseStrings(try required(values, 0, "sites"))
                let versions = try PostgresArray.parseIntegers(try required(values, 1, "versions"))
                var contributionColumns: [[Int64]] = []
                for column in 0..<columns {
                    contributionColumns.append(try PostgresArray.parseIntegers(try required(values, 2 + column, "contributions")))
                }
                guard versions.count == sites.count, contributionColumns.allSatisfy({ $0.count == sites.count }),
                    Set(sites).count == sites.count
                else { throw StateDecodingError(reason: "state arrays differ in length or repeat a site") }
                var clock: [SiteName: Int64] = [:]
                var contributions: [SiteName: [Int64]] = [:]
                for (index, site) in sites.enumerated() {
                    guard versions[index] >= 0 else { throw StateDecodingError(reason: "negative version for site \(site)") }
                    clock[site] = versions[index]
                    contributions[site] = contributionColumns.map { $0[index] }
                }
                var cursor = 2 + columns
                let highWater = try integer(values, cursor, "max_hlc")
                cursor += 1
                var resets = [CounterReset?](repeating: nil, count: columns)
                if let stampText = values[cursor] {
                    guard let time = Int64(stampText), let site = values[cursor + 1] else {
                        throw StateDecodingError(reason: "reset timestamp or site unreadable")
                    }
                    cursor += 2
                    var base: Int64 = 0
                    if hasBase {
                        base = try integer(values, cursor, "reset base")
                        cursor += 1
                    }
                    let resetSites = try PostgresArray.parseStrings(try required(values, cursor, "reset sites"))
                    let resetVersions = try PostgresArray.parseIntegers(try required(values, cursor + 1, "reset versions"))
                    let observed = try PostgresArray.parseIntegers(try required(values, cursor + 2, "reset observed"))
                    guard resetVersions.count == resetSites.count, observed.count == resetSites.count else {
                        throw StateDecodingError(reason: "reset arrays differ in length")
                    }
                    resets[0] = CounterReset(
                        stamp: HybridTimestamp(time: time, site: site), base: base,
                        clock: VectorClock(Dictionary(zip(resetSites, resetVersions), uniquingKeysWith: max)),
                        observed: Dictionary(zip(resetSites, observed), uniquingKeysWith: max))
                }
                return .counter(
                    try CounterRow(
                        columns: columns, clock: VectorClock(clock), contributions: contributions, resets: resets,
                        highWater: highWater, resetRule: layout.resetRule))
            } catch let error as StateDecodingError {
                throw error
            } catch {
                throw StateDecodingError(reason: "\(error)")
            }
        case .record:
            guard values.count == 2, let origin = values[0], let stampText = values[1], let time = Int64(stampText) else {
                throw StateDecodingError(reason: "record origin or timestamp unreadable")
            }
            return .record(ImmutableRecord(fields: fields, stamp: HybridTimestamp(time: time, site: origin)))
        }
    }

    /// Encodes a state as text parameters in `TableLayout.stateColumns` order.
    static func encode(_ state: RowState, layout: TableLayout) -> [String?] {
        switch state {
        case .record(let record):
            return [record.stamp.site, String(record.stamp.time)]
        case .counter(let row):
            guard case .counter(_, _, _, let hasBase) = layout.shape else { return [] }
            let sites = Set(row.clock.entries.keys).union(row.contributions.keys).sorted()
            var values: [String?] = [
                PostgresArray.literal(sites),
                PostgresArray.literal(sites.map { row.clock[$0] }),
            ]
            for column in 0..<row.columnCount {
                values.append(PostgresArray.literal(sites.map { row.contribution(of: $0)[column] }))
            }
            values.append(String(row.highWater))
            if let reset = row.resets[0] {
                let resetSites = Set(reset.clock.entries.keys).union(reset.observed.keys).sorted()
                values.append(String(reset.stamp.time))
                values.append(reset.stamp.site)
                if hasBase { values.append(String(reset.base)) }
                values.append(PostgresArray.literal(resetSites))
                values.append(PostgresArray.literal(resetSites.map { reset.clock[$0] }))
                values.append(PostgresArray.literal(resetSites.map { reset.observed[$0] ?? 0 }))
            } else {
                values.append(contentsOf: [String?](repeating: nil, count: hasBase ? 6 : 5))
            }
            return values
        }
    }

    private static func required(_ values: [String?], _ index: Int, _ what: String) throws(StateDecodingError) -> String {
        guard index < values.count, let value = values[index] else {
            throw StateDecodingError(reason: "\(what) missing")
        }
        return value
    }

    private static func integer(_ values: [String?], _ index: Int, _ what: String) throws(StateDecodingError) -> Int64 {
        guard let number = Int64(try required(values, index, what)) else {
            throw StateDecodingError(reason: "\(what) is not an integer")
        }
        return number
    }
}


extension StateCodec {
    /// Decodes one row as the state queries return it (`TableLayout.sql.selectStates` and the
    /// state pages): the key columns, a record's visible fields, then the state columns.
    static func decodeStateRow(
        _ row: [String?], layout: TableLayout
    ) -> (key: RowKey, state: Result<RowState, StateDecodingError>) {
        let key = layout.rowKey(row)
        let fieldsEnd = layout.keyCount + layout.fieldCount
        do {
            return (key, .success(try decode(layout, state: row[fieldsEnd...], fields: Array(row[layout.keyCount..<fieldsEnd]))))
        } catch {
            return (key, .failure(error))
        }
    }
}
