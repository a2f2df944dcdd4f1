/// `await`: waits until every target holds the row set after `--updates` decrements, and reports
/// the rate from `--since` (wall-clock µs, e.g. when the daemon was started) to the commit that
/// completed the last target.
enum AwaitCommand {
    static func run(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let targets = try options.sites("target")
        let rows = try RowSet(&options)
        let updates = try options.int("updates")
        let since = Int64(try options.int("since"))
        let timeout = try options.double("timeout", default: 600)
        try options.checkAllUsed()
        guard !targets.isEmpty else { throw BenchFailure.usage("give at least one --target NAME=CONNINFO") }

        let probes = try targets.map { try SiteProbe(site: $0, rows: rows) }
        try Convergence.wait(probes, updates: updates, timeout: timeout, interval: 0.05)
        var lines = ResultLines()
        var lastVisible: Int64 = 0
        for probe in probes {
            let visible = try probe.commitTimes()
            let done = visible.max() ?? 0
            lastVisible = max(lastVisible, done)
            lines.add("catchup_seconds.\(probe.site.name)", Double(done - since) / 1e6)
            lines.add("apply_commits.\(probe.site.name)", Set(visible).count)
        }
        let seconds = Double(lastVisible - since) / 1e6
        lines.add("catchup_seconds", seconds)
        lines.add("catchup_changes_per_s", Double(updates) / seconds, decimals: 1)
        lines.add("catchup_rows_per_s", Double(min(updates, rows.count)) / seconds, decimals: 1)
        lines.print()
    }
}
