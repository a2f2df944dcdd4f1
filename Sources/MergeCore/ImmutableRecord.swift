/// One record of a grow-only set keyed by its id (orders, order lines, returns).
///
/// `merged(with:)` is a join on a total order — the greater creation stamp wins (later hybrid
/// time, ties: the greater site name, then the greater content) — so it is commutative,
/// associative and idempotent. Two versions with different content are a `duplicate_key`
/// conflict: the winner is the same at every site, the loser is kept in the conflict's detail.
public struct ImmutableRecord: Hashable, Sendable {
    /// The visible columns after the key, as text (`nil` for SQL NULL).
    public let fields: [String?]
    /// When and where the record was created.
    public let stamp: HybridTimestamp

    public init(fields: [String?], stamp: HybridTimestamp) {
        self.fields = fields
        self.stamp = stamp
    }

    public func merged(with other: ImmutableRecord) -> ImmutableRecord {
        merging(other).record
    }

    /// The join, and the losing version when the two disagree on content.
    public func merging(_ other: ImmutableRecord) -> (record: ImmutableRecord, conflict: DuplicateRecord?) {
        let winner = ImmutableRecord.precedes(self, other) ? other : self
        guard fields != other.fields else { return (winner, nil) }
        let loser = winner == self ? other : self
        return (winner, DuplicateRecord(winner: winner, loser: loser))
    }

    static func precedes(_ a: ImmutableRecord, _ b: ImmutableRecord) -> Bool {
        if a.stamp != b.stamp { return a.stamp < b.stamp }
        return a.fields.lexicographicallyPrecedes(b.fields) { lhs, rhs in
            switch (lhs, rhs) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let l?, let r?): return Array(l.utf8).lexicographicallyPrecedes(Array(r.utf8))
            }
        }
    }
}

/// The same key created at two sites with different content.
public struct DuplicateRecord: Hashable, Sendable {
    public let winner: ImmutableRecord
    public let loser: ImmutableRecord
}
