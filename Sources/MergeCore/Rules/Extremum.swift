/// `greatest` / `least`: the greatest (least) value ever written at any site. NULL is never
/// chosen over a value, as PostgreSQL's `GREATEST` and `LEAST` ignore NULLs.
///
/// `merging` picks the extreme of a total order — the column's `ValueOrdering`, then the value's
/// bytes for values the ordering ranks equal (`1.0` and `1.00`) — so it is a join: commutative,
/// associative, idempotent, with the never-written column (`nil`) neutral. No conflicts.
public struct Extremum: ColumnRule {
    public typealias Conflict = Never

    public enum Direction: String, Sendable, Hashable {
        case greatest, least
    }

    public let direction: Direction
    public let ordering: ValueOrdering
    public private(set) var value: String?

    public init(direction: Direction, ordering: ValueOrdering, value: String? = nil) {
        self.direction = direction
        self.ordering = ordering
        self.value = value
    }

    /// A local write: the column keeps the extreme of what it had and what was written.
    public mutating func write(_ written: String?) -> LocalUpdate {
        let next = chosen(value, written)
        if next == value { return .unchanged }
        value = next
        return .applied
    }

    public func merging(_ other: Extremum, sides: MergeSides) -> (state: Extremum, conflicts: [Never]) {
        precondition(direction == other.direction && ordering == other.ordering, "merging columns of different rules")
        var result = self
        result.value = chosen(value, other.value)
        return (result, [])
    }

    private func chosen(_ a: String?, _ b: String?) -> String? {
        guard let a else { return b }
        guard let b else { return a }
        let order = ordering.compare(a, b)
        let aFirst = order == .orderedSame ? bytesPrecede(a, b) : order == .orderedAscending
        switch direction {
        case .greatest: return aFirst ? b : a
        case .least: return aFirst ? a : b
        }
    }
}

/// Three-way result of comparing two column values (Foundation's `ComparisonResult`, without
/// Foundation: MergeCore imports nothing).
public enum ValueComparison: Sendable, Hashable {
    case orderedAscending, orderedSame, orderedDescending
}

/// How the text forms of a column's values compare, chosen from the column's SQL type. The
/// capture trigger compares the same way (numbers as numbers, everything else with `COLLATE "C"`),
/// so a site and the daemon agree on the extreme.
public enum ValueOrdering: String, Sendable, Hashable {
    /// Integers and `numeric`: by numeric value; text that is not a number sorts below every number.
    case number
    /// Text, and every type whose text form sorts like its values in byte order in the daemon's
    /// sessions (ISO dates, UTC timestamps of years 1000–9999): UTF-8 bytes, PostgreSQL's `C` collation.
    case bytes

    public func compare(_ a: String, _ b: String) -> ValueComparison {
        switch self {
        case .bytes:
            if a == b { return .orderedSame }
            return bytesPrecede(a, b) ? .orderedAscending : .orderedDescending
        case .number:
            switch (DecimalText(a), DecimalText(b)) {
            case (nil, nil): return ValueOrdering.bytes.compare(a, b)
            case (nil, _): return .orderedAscending
            case (_, nil): return .orderedDescending
            case (let x?, let y?): return x.compare(y)
            }
        }
    }
}

/// The text form of an integer or a finite `numeric`, `-12.500`, read for comparing exactly,
/// however many digits it has (a `Double` would round, an `Int64` overflow).
struct DecimalText {
    let negative: Bool
    /// Without leading zeros; empty for zero.
    let integer: [UInt8]
    /// Without trailing zeros.
    let fraction: [UInt8]

    init?(_ text: String) {
        var bytes = Array(text.utf8)
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard !bytes.isEmpty, parts.count <= 2 else { return nil }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let integer = Array(parts[0]), fraction = parts.count == 2 ? Array(parts[1]) : []
        guard integer.allSatisfy(isDigit), fraction.allSatisfy(isDigit), !(integer.isEmpty && fraction.isEmpty) else {
            return nil
        }
        self.integer = Array(integer.drop { $0 == UInt8(ascii: "0") })
        var trimmed = fraction
        while trimmed.last == UInt8(ascii: "0") { trimmed.removeLast() }
        self.fraction = trimmed
        self.negative = negative && !(self.integer.isEmpty && self.fraction.isEmpty)
    }

    func compare(_ other: DecimalText) -> ValueComparison {
        if negative != other.negative { return negative ? .orderedAscending : .orderedDescending }
        let magnitude = compareMagnitude(other)
        guard negative else { return magnitude }
        switch magnitude {
        case .orderedAscending: return .orderedDescending
        case .orderedDescending: return .orderedAscending
        case .orderedSame: return .orderedSame
        }
    }

    private func compareMagnitude(_ other: DecimalText) -> ValueComparison {
        if integer.count != other.integer.count {
            return integer.count < other.integer.count ? .orderedAscending : .orderedDescending
        }
        if integer != other.integer {
            return integer.lexicographicallyPrecedes(other.integer) ? .orderedAscending : .orderedDescending
        }
        if fraction == other.fraction { return .orderedSame }
        return fraction.lexicographicallyPrecedes(other.fraction) ? .orderedAscending : .orderedDescending
    }
}
