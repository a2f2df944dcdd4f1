/// Order statistics of a sample (nearest-rank percentiles).
struct Distribution {
    private let sorted: [Int64]

    init(_ samples: [Int64]) {
        sorted = samples.sorted()
    }

    var count: Int { sorted.count }

    /// The smallest sample with at least `percent` % of the samples at or below it.
    func percentile(_ percent: Double) -> Int64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var minimum: Int64 { sorted.first ?? 0 }
    var maximum: Int64 { sorted.last ?? 0 }

    var mean: Double {
        sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count)
    }
}
