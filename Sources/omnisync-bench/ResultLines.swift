import Foundation

/// The measurements a command prints: one `name=value` line each on stdout, which scripts/bench.sh
/// collects. Names are `figure` or `figure.site`; values are plain numbers.
struct ResultLines {
    private var lines: [String] = []

    mutating func add(_ name: String, _ value: Double, decimals: Int = 3) {
        lines.append("\(name)=\(String(format: "%.\(decimals)f", value))")
    }

    mutating func add(_ name: String, _ value: Int) {
        lines.append("\(name)=\(value)")
    }

    /// Microsecond samples as p50/p99/max (and mean) in milliseconds.
    mutating func addLatency(_ name: String, _ distribution: Distribution, site: String? = nil) {
        let suffix = site.map { "." + $0 } ?? ""
        add("\(name)_p50_ms\(suffix)", Double(distribution.percentile(50)) / 1000)
        add("\(name)_p99_ms\(suffix)", Double(distribution.percentile(99)) / 1000)
        add("\(name)_max_ms\(suffix)", Double(distribution.maximum) / 1000)
        add("\(name)_mean_ms\(suffix)", distribution.mean / 1000)
    }

    func print() {
        FileHandle.standardOutput.write(Data(lines.map { $0 + "\n" }.joined().utf8))
    }
}
