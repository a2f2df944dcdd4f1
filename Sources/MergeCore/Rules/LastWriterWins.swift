/// `lww`: the value written with the greatest hybrid timestamp (ties: the greater site name).
///
/// A write that had seen another always wins over it, whatever the wall clocks say: a local
/// write is stamped past the row's high-water mark, which covers every stamp the row has merged,
/// so causal order implies stamp order. Only concurrent writes are ordered by the clocks.
///
/// `merging` is a join on a total order — stamp, then (for equal stamps, which only corrupt input
/// produces) the value's bytes — hence commutative, associative and idempotent; a register never
/// written (`stamp == nil`) is neutral. It never reports a conflict: last writer wins is the rule.
public struct LastWriterWins: ColumnRule {
    public typealias Conflict = Never

    /// The column's text form (`nil` for SQL NULL).
    public private(set) var value: String?
    /// When and where the winning write happened; `nil` for a column never written.
    public private(set) var stamp: HybridTimestamp?

    public init(value: String? = nil, stamp: HybridTimestamp? = nil) {
        self.value = stamp == nil ? nil : value
        self.stamp = stamp
    }

    /// A local write stamped `stamp` (from `HybridTimestamp.next` past the row's high-water mark).
    /// An UPDATE writes only the columns whose value it changes, so writing the value already
    /// there changes nothing; an INSERT writes every column (`always`).
    public mutating func write(_ newValue: String?, stamp newStamp: HybridTimestamp, always: Bool = false) -> LocalUpdate {
        if !always, newValue == value { return .unchanged }
        value = newValue
        stamp = newStamp
        return .applied
    }

    public func merging(_ other: LastWriterWins, sides: MergeSides) -> (state: LastWriterWins, conflicts: [Never]) {
        (Self.precedes(self, other) ? other : self, [])
    }

    static func precedes(_ a: LastWriterWins, _ b: LastWriterWins) -> Bool {
        switch (a.stamp, b.stamp) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case (let x?, let y?):
            if x != y { return x < y }
            return bytesPrecede(a.value, b.value)
        }
    }
}
