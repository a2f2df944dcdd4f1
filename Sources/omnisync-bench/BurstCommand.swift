import Postgres

/// `burst`: `--updates` single-row decrements committed as fast as `--connections` clients can
/// (update k decrements row k mod rows; client c sends the updates k ≡ c mod connections), then
/// how fast they became visible at every target and how far the last one trailed the source.
enum BurstCommand {
    static func run(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let source = try options.source()
        let targets = try options.sites("target")
        let rows = try RowSet(&options)
        let updates = try options.int("updates")
        let connections = try options.int("connections", default: 2)
        let timeout = try options.double("timeout", default: 300)
        try options.checkAllUsed()
        guard !targets.isEmpty, connections > 0, updates > 0 else {
            throw BenchFailure.usage("give --target, and positive --updates and --connections")
        }

        let sourceProbe = try SiteProbe(site: source, rows: rows)
        let probes = try targets.map { try SiteProbe(site: $0, rows: rows) }
        let cpuBefore = WallClock.processCPUSeconds()
        let outcome = try Workers.run(connections) { client, ready in
            let connection = try PostgresConnection.connect(
                conninfo: source.conninfo, applicationName: "omnisync-bench", label: "connect source")
            defer { connection.close() }
            ready()
            for update in stride(from: client, to: updates, by: connections) {
                let index = update % rows.count
                let result = try connection.query(RowSet.decrement, [rows.sku(index), rows.location], label: "decrement")
                guard result.affectedRows == 1 else { throw BenchFailure(description: "row \(rows.sku(index)) is missing at the source") }
            }
            return WallClock.micros()
        }
        try Convergence.wait(probes, updates: updates, timeout: timeout)

        let lastCommit = try sourceProbe.commitTimes().max() ?? 0
        let start = outcome.startedAt
        var lines = ResultLines()
        lines.add("updates", updates)
        lines.add("source_commit_rate", Double(updates) / (Double(lastCommit - start) / 1e6), decimals: 1)
        var lastVisible: Int64 = 0
        for probe in probes {
            let visible = try probe.commitTimes()
            let done = visible.max() ?? 0
            lastVisible = max(lastVisible, done)
            lines.add("lag_after_last_commit_ms.\(probe.site.name)", Double(done - lastCommit) / 1000)
            lines.add("apply_commits.\(probe.site.name)", Set(visible).count)
        }
        lines.add("e2e_changes_per_s", Double(updates) / (Double(lastVisible - start) / 1e6), decimals: 1)
        lines.add("lag_after_last_commit_ms", Double(lastVisible - lastCommit) / 1000)
        lines.add("harness_cpu_s", WallClock.processCPUSeconds() - cpuBefore)
        lines.print()
    }
}
