/// One stored field of a row's replicated state: what a state-table column holds, as a typed
/// value. MergeCore knows nothing of SQL text formats; the engine turns these into parameters.
public enum StateField: Hashable, Sendable {
    case integer(Int64?)
    case text(String?)
    case integers([Int64]?)
    case texts([String]?)
}

/// The SQL type of a state field, for the generated state table.
public enum StateFieldType: String, Hashable, Sendable {
    case integer = "bigint"
    case text = "text"
    case integers = "bigint[]"
    case texts = "text[]"
}

/// The versioned encoding of replicated rows. Format 1 stores, per row,
///
/// `state_format`, `sites`, `versions` (the clock, sites in byte order), `max_hlc`, and the
/// deletion (`deleted_hlc`, `deleted_site`, `deleted_sites`, `deleted_versions`),
///
/// then, per column in table order, the fields its rule lists in `fields(of:)`. Counter
/// contributions and observations are arrays parallel to the row's or the reset's sites. A row
/// whose `state_format` is not one this build reads is rejected with the format it has, never
/// guessed at: the daemon quarantines it.
public enum StateEncoding {
    public static let format: Int64 = 1

    /// The row's own fields, in order.
    public static let rowFields: [(name: String, type: StateFieldType)] = [
        ("state_format", .integer), ("sites", .texts), ("versions", .integers), ("max_hlc", .integer),
        ("deleted_hlc", .integer), ("deleted_site", .text), ("deleted_sites", .texts), ("deleted_versions", .integers),
    ]

    /// The fields one column's rule stores, in order, by suffix (the generator prefixes the column).
    public static func fields(of column: ColumnState) -> [(suffix: String, type: StateFieldType)] {
        switch column {
        case .counter:
            return [
                ("contrib", .integers), ("reset_hlc", .integer), ("reset_site", .text), ("reset_base", .integer),
                ("reset_sites", .texts), ("reset_versions", .integers), ("reset_observed", .integers),
            ]
        case .lastWriterWins:
            return [("value", .text), ("hlc", .integer), ("site", .text)]
        case .extremum:
            return [("value", .text)]
        case .status:
            return [("value", .text), ("hlc", .integer), ("site", .text), ("seen_sites", .texts), ("seen_versions", .integers)]
        case .local:
            return []
        }
    }

    // MARK: - Encoding

    public static func encode(_ row: ReplicatedRow) -> [StateField] {
        let sites = Set(row.clock.entries.keys).union(row.columns.flatMap(contributors)).sorted(by: byteOrder)
        var fields: [StateField] = [
            .integer(format), .texts(sites), .integers(sites.map { row.clock[$0] }), .integer(row.highWater),
        ]
        if let deletion = row.deletion {
            let deletionSites = deletion.clock.sites
            fields += [
                .integer(deletion.stamp.time), .text(deletion.stamp.site), .texts(deletionSites),
                .integers(deletionSites.map { deletion.clock[$0] }),
            ]
        } else {
            fields += [.integer(nil), .text(nil), .texts(nil), .integers(nil)]
        }
        for column in row.columns { fields += encode(column, sites: sites) }
        return fields
    }

    private static func contributors(_ column: ColumnState) -> [SiteName] {
        if case .counter(let counter) = column { return Array(counter.contributions.keys) }
        return []
    }

    private static func encode(_ column: ColumnState, sites: [SiteName]) -> [StateField] {
        switch column {
        case .counter(let counter):
            var fields: [StateField] = [.integers(sites.map { counter.contribution(of: $0) })]
            if let reset = counter.reset {
                let resetSites = Set(reset.clock.entries.keys).union(reset.observed.keys).sorted(by: byteOrder)
                fields += [
                    .integer(reset.stamp.time), .text(reset.stamp.site), .integer(reset.base), .texts(resetSites),
                    .integers(resetSites.map { reset.clock[$0] }), .integers(resetSites.map { reset.observed[$0] ?? 0 }),
                ]
            } else {
                fields += [.integer(nil), .text(nil), .integer(nil), .texts(nil), .integers(nil), .integers(nil)]
            }
            return fields
        case .lastWriterWins(let register):
            return [.text(register.value), .integer(register.stamp?.time), .text(register.stamp?.site)]
        case .extremum(let extremum):
            return [.text(extremum.value)]
        case .status(let status):
            guard let write = status.write else { return [.text(nil), .integer(nil), .text(nil), .texts(nil), .integers(nil)] }
            let seenSites = write.seen.sites
            return [
                .text(write.value), .integer(write.stamp.time), .text(write.stamp.site), .texts(seenSites),
                .integers(seenSites.map { write.seen[$0] }),
            ]
        case .local:
            return []
        }
    }

    // MARK: - Decoding

    /// Reads a row stored under `empty`'s column rules (the table's empty row: the rules and their
    /// parameters, such as a status order, come from the table, not from the stored state). Every
    /// field is checked: a hostile or corrupt state is an error, never a guess.
    public static func decode(_ fields: [StateField], empty: ReplicatedRow) throws(MergeCoreError) -> ReplicatedRow {
        var reader = FieldReader(fields: fields)
        let stored = try reader.integer("state_format")
        guard stored == format else {
            throw .malformed("state format \(stored.map(String.init) ?? "NULL") is not \(format), the one this version reads")
        }
        let sites = try reader.texts("sites") ?? []
        let versions = try reader.integers("versions") ?? []
        guard sites.count == versions.count, Set(sites).count == sites.count else {
            throw .malformed("sites and versions differ in length or repeat a site")
        }
        guard versions.allSatisfy({ $0 >= 0 }) else { throw .malformed("a negative version") }
        let clock = VectorClock(Dictionary(uniqueKeysWithValues: zip(sites, versions)))
        guard let highWater = try reader.integer("max_hlc") else { throw .malformed("max_hlc missing") }
        var deletion: RowDeletion?
        if let time = try reader.integer("deleted_hlc") {
            guard let site = try reader.text("deleted_site") else { throw .malformed("deletion without a site") }
            let clockOfDeletion = try reader.clock("deleted")
            guard clock.dominates(clockOfDeletion), time <= highWater else {
                throw .malformed("a deletion has seen more than the row")
            }
            deletion = RowDeletion(stamp: HybridTimestamp(time: time, site: site), clock: clockOfDeletion)
        } else {
            _ = try reader.text("deleted_site")
            _ = try reader.texts("deleted_sites")
            _ = try reader.integers("deleted_versions")
        }
        var columns: [ColumnState] = []
        for column in empty.columns {
            columns.append(try decode(column, sites: sites, clock: clock, highWater: highWater, reader: &reader))
        }
        guard reader.isAtEnd else { throw .malformed("\(fields.count) fields, more than the table's rules store") }
        return ReplicatedRow(clock: clock, highWater: highWater, deletion: deletion, columns: columns)
    }

    private static func decode(
        _ empty: ColumnState, sites: [SiteName], clock: VectorClock, highWater: Int64, reader: inout FieldReader
    ) throws(MergeCoreError) -> ColumnState {
        switch empty {
        case .counter(let counter):
            let amounts = try reader.integers("contrib") ?? []
            guard amounts.count == sites.count else { throw .malformed("contributions do not match the sites") }
            var contributions: [SiteName: Int64] = [:]
            for (site, amount) in zip(sites, amounts) where amount != 0 {
                guard clock[site] > 0 else { throw .malformed("site \(site) has a contribution but no clock entry") }
                contributions[site] = amount
            }
            var reset: CounterReset?
            if let time = try reader.integer("reset_hlc") {
                guard let site = try reader.text("reset_site"), let base = try reader.integer("reset_base") else {
                    throw .malformed("a reset without its site or base")
                }
                let resetSites = try reader.texts("reset_sites") ?? []
                let resetVersions = try reader.integers("reset_versions") ?? []
                let observed = try reader.integers("reset_observed") ?? []
                guard resetSites.count == resetVersions.count, observed.count == resetSites.count,
                    Set(resetSites).count == resetSites.count
                else { throw .malformed("reset arrays differ in length or repeat a site") }
                let resetClock = VectorClock(Dictionary(uniqueKeysWithValues: zip(resetSites, resetVersions)))
                guard clock.dominates(resetClock), time <= highWater else {
                    throw .malformed("a reset has seen more than the row")
                }
                reset = CounterReset(
                    stamp: HybridTimestamp(time: time, site: site), base: base, clock: resetClock,
                    observed: Dictionary(uniqueKeysWithValues: zip(resetSites, observed)))
            } else {
                for name in ["reset_site", "reset_base", "reset_sites", "reset_versions", "reset_observed"] {
                    try reader.skip(name)
                }
            }
            return .counter(CounterColumn(resetRule: counter.resetRule, contributions: contributions, reset: reset))
        case .lastWriterWins:
            let value = try reader.text("value")
            let time = try reader.integer("hlc"), site = try reader.text("site")
            guard let time, let site else {
                guard value == nil, time == nil, site == nil else { throw .malformed("a value without its stamp") }
                return .lastWriterWins(LastWriterWins())
            }
            guard time <= highWater else { throw .malformed("a write stamped past the row's high-water mark") }
            return .lastWriterWins(LastWriterWins(value: value, stamp: HybridTimestamp(time: time, site: site)))
        case .extremum(let extremum):
            return .extremum(Extremum(direction: extremum.direction, ordering: extremum.ordering, value: try reader.text("value")))
        case .status(let status):
            let value = try reader.text("value")
            let time = try reader.integer("hlc"), site = try reader.text("site")
            let seen = try reader.clock("seen")
            guard let value, let time, let site else {
                guard value == nil, time == nil, site == nil else { throw .malformed("a status without its stamp") }
                return .status(ForwardStatus(order: status.order))
            }
            guard clock.dominates(seen), time <= highWater else { throw .malformed("a status write has seen more than the row") }
            return .status(try ForwardStatus(order: status.order, value: value, stamp: HybridTimestamp(time: time, site: site), seen: seen))
        case .local:
            return .local
        }
    }

    private static func byteOrder(_ a: SiteName, _ b: SiteName) -> Bool { bytesPrecede(a, b) }
}

/// Reads fields in order, each of the type the encoding expects.
private struct FieldReader {
    let fields: [StateField]
    private var index = 0

    init(fields: [StateField]) { self.fields = fields }

    var isAtEnd: Bool { index == fields.count }

    private mutating func next(_ name: String) throws(MergeCoreError) -> StateField {
        guard index < fields.count else { throw .malformed("\(name) missing") }
        defer { index += 1 }
        return fields[index]
    }

    mutating func integer(_ name: String) throws(MergeCoreError) -> Int64? {
        guard case .integer(let value) = try next(name) else { throw .malformed("\(name) is not an integer") }
        return value
    }

    mutating func text(_ name: String) throws(MergeCoreError) -> String? {
        guard case .text(let value) = try next(name) else { throw .malformed("\(name) is not text") }
        return value
    }

    mutating func integers(_ name: String) throws(MergeCoreError) -> [Int64]? {
        guard case .integers(let value) = try next(name) else { throw .malformed("\(name) is not an integer array") }
        return value
    }

    mutating func texts(_ name: String) throws(MergeCoreError) -> [String]? {
        guard case .texts(let value) = try next(name) else { throw .malformed("\(name) is not a text array") }
        return value
    }

    mutating func skip(_ name: String) throws(MergeCoreError) {
        _ = try next(name)
    }

    /// A `PREFIX_sites` / `PREFIX_versions` pair as a clock.
    mutating func clock(_ prefix: String) throws(MergeCoreError) -> VectorClock {
        let sites = try texts("\(prefix)_sites") ?? []
        let versions = try integers("\(prefix)_versions") ?? []
        guard sites.count == versions.count, Set(sites).count == sites.count, versions.allSatisfy({ $0 >= 0 }) else {
            throw .malformed("\(prefix) clock arrays differ in length, repeat a site or hold a negative version")
        }
        return VectorClock(Dictionary(uniqueKeysWithValues: zip(sites, versions)))
    }
}
