/// A hybrid logical timestamp: wall-clock microseconds bumped past anything the row has seen,
/// with the writing site's name as the tie-break. It orders resets and duplicate records only;
/// causality is always decided by vector clocks, never by wall time (store clocks drift).
///
/// Total order: by `time`, then by `site` (the greater site name wins a tie).
public struct HybridTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let time: Int64
    public let site: SiteName

    public init(time: Int64, site: SiteName) {
        self.time = time
        self.site = site
    }

    /// The timestamp for a new event at `site`: the wall clock, or one past the row's
    /// high-water mark when the wall clock lags behind it. A (corrupt) mark of `Int64.max` is
    /// kept, not wrapped: wrapping would stamp the new event before everything the row has seen.
    public static func next(wallClock: Int64, highWater: Int64, site: SiteName) -> HybridTimestamp {
        HybridTimestamp(time: max(wallClock, highWater.saturatingAdd(1)), site: site)
    }

    public static func < (lhs: HybridTimestamp, rhs: HybridTimestamp) -> Bool {
        if lhs.time != rhs.time { return lhs.time < rhs.time }
        return Array(lhs.site.utf8).lexicographicallyPrecedes(Array(rhs.site.utf8))
    }

    public var description: String { "\(time)@\(site)" }
}
