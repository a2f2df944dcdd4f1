/// How a merge combines two resets of the same counter column that it finds in two states.
///
/// Both rules make `CounterRow.merged(with:)` a join; they differ in what a reset takes away.
public enum ResetRule: Sendable, Hashable {
    /// One reset wins at every site: the greater hybrid timestamp (ties: the greater site name).
    /// Changes that only the losing reset had seen apply again on top of the winner's base.
    ///
    /// For physical stock counts: two counts that did not see each other cannot both be right,
    /// so one replaces the other everywhere, and a disagreement is reported as a `ResetConflict`.
    case latestWins
    /// Both resets take effect: every change that either had seen stays removed, and the base is
    /// that of the greater hybrid timestamp. Never a conflict.
    ///
    /// For cart `DELETE`s (base 0): each delete removes exactly what its site had seen, so
    /// concurrent deletes all hold, while an add that none of them had seen survives (add wins).
    case joined
}
