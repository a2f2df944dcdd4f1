/// One column's replicated state, under the rule its table declares. This enum is where rules
/// are registered: a new rule is one file in `Rules/` plus one case here.
public enum ColumnState: ColumnRule {
    case counter(CounterColumn)
    case lastWriterWins(LastWriterWins)
    case extremum(Extremum)
    case status(ForwardStatus)
    /// Not replicated: each site keeps its own value, so there is nothing to merge.
    case local

    /// The join of two versions of the column; both must be under the same rule.
    public func merging(_ other: ColumnState, sides: MergeSides) -> (state: ColumnState, conflicts: [ColumnConflict]) {
        switch (self, other) {
        case (.counter(let a), .counter(let b)):
            let (merged, conflicts) = a.merging(b, sides: sides)
            return (.counter(merged), conflicts.map(ColumnConflict.concurrentCount))
        case (.lastWriterWins(let a), .lastWriterWins(let b)):
            return (.lastWriterWins(a.merged(with: b, sides: sides)), [])
        case (.extremum(let a), .extremum(let b)):
            return (.extremum(a.merged(with: b, sides: sides)), [])
        case (.status(let a), .status(let b)):
            let (merged, conflicts) = a.merging(b, sides: sides)
            return (.status(merged), conflicts.map(ColumnConflict.concurrentStatus))
        case (.local, .local):
            return (.local, [])
        default:
            preconditionFailure("merging columns of different rules: \(self) and \(other)")
        }
    }

    /// The column's merged value as the visible row shows it (`nil`: NULL; local columns: nil,
    /// the site keeps its own).
    public var visibleValue: String? {
        switch self {
        case .counter(let counter): return String(counter.value)
        case .lastWriterWins(let register): return register.value
        case .extremum(let extremum): return extremum.value
        case .status(let status): return status.value
        case .local: return nil
        }
    }
}

/// What a merge found that a person must look at, by the column that found it.
public enum ColumnConflict: Hashable, Sendable {
    /// Two physical counts that did not see each other and disagree (`concurrent_count`).
    case concurrentCount(ResetConflict)
    /// Two statuses written without seeing each other (`concurrent_status`).
    case concurrentStatus(StatusConflict)
}
