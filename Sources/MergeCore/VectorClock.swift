/// How two events relate in causal order.
public enum CausalOrder: Sendable, Equatable {
    case before, equal, after, concurrent
}

/// A sparse vector clock: for each site, how many of that site's changes to one row are reflected.
/// Sites that never wrote the row are absent (and count as 0).
///
/// `merged(with:)` is the pointwise maximum: a join — commutative, associative, idempotent.
public struct VectorClock: Hashable, Sendable, CustomStringConvertible {
    public private(set) var entries: [SiteName: Int64]

    public init(_ entries: [SiteName: Int64] = [:]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    public subscript(site: SiteName) -> Int64 {
        entries[site] ?? 0
    }

    /// Sites in a deterministic order (never rely on Dictionary order).
    public var sites: [SiteName] { entries.keys.sorted() }

    public var isEmpty: Bool { entries.isEmpty }

    /// Records one more change made at `site`.
    public mutating func tick(_ site: SiteName) {
        entries[site, default: 0] += 1
    }

    public func merged(with other: VectorClock) -> VectorClock {
        var result = entries
        for (site, count) in other.entries where count > result[site] ?? 0 {
            result[site] = count
        }
        return VectorClock(result)
    }

    /// Whether every entry of `self` is at least the matching entry of `other`.
    public func dominates(_ other: VectorClock) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    public func compare(_ other: VectorClock) -> CausalOrder {
        switch (dominates(other), other.dominates(self)) {
        case (true, true): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (false, false): return .concurrent
        }
    }

    public var description: String {
        "{" + sites.map { "\($0):\(self[$0])" }.joined(separator: ",") + "}"
    }
}
