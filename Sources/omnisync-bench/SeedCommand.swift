import Postgres

/// `seed`: inserts a row set at the source (one statement) and waits until every target has it.
enum SeedCommand {
    static func run(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let source = try options.source()
        let targets = try options.sites("target")
        let rows = try RowSet(&options)
        let timeout = try options.double("timeout", default: 300)
        try options.checkAllUsed()

        let started = WallClock.monotonicNanos()
        let connection = try PostgresConnection.connect(conninfo: source.conninfo, applicationName: "omnisync-bench", label: "connect source")
        try connection.query(RowSet.insertRows, [rows.prefix, rows.location, String(rows.initial), String(rows.count)], label: "seed rows")
        connection.close()
        let probes = try targets.map { try SiteProbe(site: $0, rows: rows) }
        try Convergence.waitForSeed(probes, timeout: timeout)
        for probe in probes { probe.close() }
        var lines = ResultLines()
        lines.add("seed_rows", rows.count)
        lines.add("seed_seconds", Double(WallClock.monotonicNanos() - started) / 1e9)
        lines.print()
    }
}

extension BenchArguments {
    /// The one `--source NAME=CONNINFO`.
    mutating func source() throws(BenchFailure) -> BenchSite {
        let sources = try sites("source")
        guard sources.count == 1, let source = sources.first else { throw .usage("give exactly one --source NAME=CONNINFO") }
        return source
    }
}
