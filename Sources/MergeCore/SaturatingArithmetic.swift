/// Counter sums saturate at the bounds of `Int64` instead of wrapping: a corrupt or hostile
/// contribution near 2⁶³ must never turn a stock level negative by overflow.
extension Int64 {
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        if !overflow { return sum }
        return other > 0 ? .max : .min
    }

    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        if !overflow { return difference }
        return other > 0 ? .min : .max
    }
}
