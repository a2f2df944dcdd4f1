/// The vector clocks of the two rows a column merge belongs to. A column state alone cannot always
/// tell which of two versions is newer: a counter's per-site contribution is as recent as that
/// site's entry of the row's clock, which the row keeps once for all its columns.
public struct MergeSides: Sendable, Hashable {
    public let mine: VectorClock
    public let theirs: VectorClock

    public init(mine: VectorClock, theirs: VectorClock) {
        self.mine = mine
        self.theirs = theirs
    }

    /// The same merge seen from the other row.
    public var swapped: MergeSides { MergeSides(mine: theirs, theirs: mine) }
}

/// What a local write did to a column: the capture trigger's verdict, computed the same way in
/// Swift. `refused` is an error in the application's own statement (a status moved backwards;
/// later, a bounded counter without the rights to go lower).
public enum LocalUpdate: Sendable, Hashable {
    case applied
    case unchanged
    case refused(String)
}

/// The vocabulary every column merge rule shares (riak_dt's: empty, local update, merge, value,
/// versioned encoding). One file per rule in `Rules/`; `ColumnState` registers them.
///
/// Laws every rule states in its documentation and `ColumnRuleLawTests` checks on states from
/// seeded random histories, for rows `a`, `b`, `c` with clocks `ca`, `cb`, `cc`:
/// - commutative: `a.merging(b, MergeSides(ca, cb)) == b.merging(a, MergeSides(cb, ca))`
/// - associative: merging `(a ⊔ b) ⊔ c` (clock `ca ⊔ cb`) equals `a ⊔ (b ⊔ c)`
/// - idempotent: `a ⊔ a == a`; and the empty state is neutral.
/// Conflicts are a side output: which ones a merge reports may depend on the order of merges,
/// the state never does.
public protocol ColumnRule: Hashable, Sendable {
    associatedtype Conflict: Hashable & Sendable

    /// The join of two versions of the same column, and what a person must look at.
    func merging(_ other: Self, sides: MergeSides) -> (state: Self, conflicts: [Conflict])
}

extension ColumnRule {
    /// The join alone.
    public func merged(with other: Self, sides: MergeSides) -> Self {
        merging(other, sides: sides).state
    }
}

/// Byte order of UTF-8 text: PostgreSQL's `C` collation, the only order every site agrees on.
func bytesPrecede(_ lhs: String?, _ rhs: String?) -> Bool {
    switch (lhs, rhs) {
    case (nil, nil): return false
    case (nil, _): return true
    case (_, nil): return false
    case (let l?, let r?): return Array(l.utf8).lexicographicallyPrecedes(Array(r.utf8))
    }
}
