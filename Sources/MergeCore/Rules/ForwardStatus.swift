/// `status(V1, V2, …)`: a text column that only moves forward in the declared order. The merged
/// value is the furthest value written at any site.
///
/// A write carries the row's clock as it was written (`seen`, including the write's own tick),
/// so a merge can tell whether one write had seen the other. Two writes of different values that
/// had not are a `StatusConflict` (the web cancelled what a store had already handed over); the
/// furthest value still wins.
///
/// `merging` picks the maximum of a total order — position in the list, then stamp, then the
/// seen clock's text (equal stamps only come from corrupt input) — so it is a join: commutative,
/// associative, idempotent, and the never-written column is neutral. The conflicts it reports are
/// a side output.
public struct ForwardStatus: ColumnRule {
    /// The declared order, first to last.
    public let order: [String]
    public private(set) var write: Write?

    /// One status write: the value, its position in `order`, when and where, and what it had seen.
    public struct Write: Hashable, Sendable {
        public let value: String
        public let rank: Int
        public let stamp: HybridTimestamp
        public let seen: VectorClock

        public init(value: String, rank: Int, stamp: HybridTimestamp, seen: VectorClock) {
            self.value = value
            self.rank = rank
            self.stamp = stamp
            self.seen = seen
        }
    }

    public init(order: [String], write: Write? = nil) {
        self.order = order
        self.write = write
    }

    /// Builds a state read from storage: the value must be one of `order`.
    public init(order: [String], value: String, stamp: HybridTimestamp, seen: VectorClock) throws(MergeCoreError) {
        guard let rank = order.firstIndex(of: value) else {
            throw .malformed("status '\(value)' is not one of \(order.joined(separator: ", "))")
        }
        self.init(order: order, write: Write(value: value, rank: rank, stamp: stamp, seen: seen))
    }

    public var value: String? { write?.value }

    /// A local write of `newValue`, stamped `stamp`, by a row whose clock (after this write's
    /// tick) is `seen`. Refused when the value is not in the list or lies before the current one;
    /// the current value again changes nothing.
    public mutating func write(_ newValue: String, stamp: HybridTimestamp, seen: VectorClock) -> LocalUpdate {
        guard let rank = order.firstIndex(of: newValue) else {
            return .refused("'\(newValue)' is not a status of this column (\(order.joined(separator: ", ")))")
        }
        if let current = write {
            if rank == current.rank { return .unchanged }
            if rank < current.rank {
                return .refused("status cannot go back from '\(current.value)' to '\(newValue)'")
            }
        }
        write = Write(value: newValue, rank: rank, stamp: stamp, seen: seen)
        return .applied
    }

    public func merging(_ other: ForwardStatus, sides: MergeSides) -> (state: ForwardStatus, conflicts: [StatusConflict]) {
        precondition(order == other.order, "merging status columns of different orders")
        guard let mine = write else { return (other, []) }
        guard let theirs = other.write else { return (self, []) }
        let winner = Self.precedes(mine, theirs) ? theirs : mine
        let loser = winner == mine ? theirs : mine
        var conflicts: [StatusConflict] = []
        if mine.value != theirs.value, mine.seen.compare(theirs.seen) == .concurrent {
            conflicts.append(StatusConflict(winner: winner, loser: loser))
        }
        return (ForwardStatus(order: order, write: winner), conflicts)
    }

    static func precedes(_ a: Write, _ b: Write) -> Bool {
        if a.rank != b.rank { return a.rank < b.rank }
        if a.stamp != b.stamp { return a.stamp < b.stamp }
        return bytesPrecede(a.seen.description, b.seen.description)
    }
}

/// Two sites moved the same row to different statuses without seeing each other's write
/// (`concurrent_status`). The winner is the furthest value, the same at every site.
public struct StatusConflict: Hashable, Sendable {
    public let winner: ForwardStatus.Write
    public let loser: ForwardStatus.Write
}
