/// Waits until every target holds the final value of every row of a set.
enum Convergence {
    /// Returns when all probes report final values; fails after `timeout` seconds naming the
    /// sites still behind. Polls every `interval` seconds.
    static func wait(_ probes: [SiteProbe], updates: Int, timeout: Double, interval: Double = 0.02) throws {
        let deadline = WallClock.monotonicNanos() + Int64(timeout * 1e9)
        var pending = probes
        while true {
            pending = try pending.filter { try !$0.isFinal(updates: updates) }
            if pending.isEmpty { return }
            if WallClock.monotonicNanos() > deadline {
                var behind: [String] = []
                for probe in pending {
                    let (count, sum) = try probe.countAndSum()
                    let expected = probe.rows.expectedSum(updates: updates)
                    behind.append("\(probe.site.name) (\(count) of \(probe.rows.count) rows, on_hand sum \(sum), expected \(expected))")
                }
                throw BenchFailure(
                    description: "not converged after \(Int(timeout)) s: " + behind.joined(separator: ", "))
            }
            WallClock.sleep(seconds: interval)
        }
    }

    /// Waits until every target has all rows with their initial values (after seeding). Rows
    /// that do not exist yet are not "unfinished", so this counts them instead.
    static func waitForSeed(_ probes: [SiteProbe], timeout: Double) throws {
        let deadline = WallClock.monotonicNanos() + Int64(timeout * 1e9)
        var pending = probes
        while true {
            pending = try pending.filter { probe in
                let (count, sum) = try probe.countAndSum()
                return count != probe.rows.count || sum != probe.rows.expectedSum(updates: 0)
            }
            if pending.isEmpty { return }
            if WallClock.monotonicNanos() > deadline {
                throw BenchFailure(
                    description: "seed rows not everywhere after \(Int(timeout)) s: " + pending.map(\.site.name).joined(separator: ", "))
            }
            WallClock.sleep(seconds: 0.1)
        }
    }
}
