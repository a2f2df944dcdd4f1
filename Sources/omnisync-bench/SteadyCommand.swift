import Postgres

/// `steady`: one decrement per row, committed at the source on a fixed schedule (`--rate` per
/// second, spread over `--connections` clients), then per target the time from the source's commit to the
/// commit that made the row visible there, both read from PostgreSQL's commit timestamps.
enum SteadyCommand {
    static func run(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let source = try options.source()
        let targets = try options.sites("target")
        let rows = try RowSet(&options)
        let rate = try options.double("rate", default: 1000)
        let primary = Set(options.string("primary", default: "").split(separator: ",").map(String.init))
        let connections = try options.int("connections", default: 2)
        let timeout = try options.double("timeout", default: 120)
        try options.checkAllUsed()
        guard !targets.isEmpty, connections > 0 else { throw BenchFailure.usage("give at least one --target NAME=CONNINFO") }

        let sourceProbe = try SiteProbe(site: source, rows: rows)
        let probes = try targets.map { try SiteProbe(site: $0, rows: rows) }
        let cpuBefore = WallClock.processCPUSeconds()
        let interval = 1e9 / rate
        let start = WallClock.monotonicNanos() + 50_000_000
        // Slot k is due at start + k / rate and goes to client k mod connections: one slow commit
        // does not hold up the schedule of the others.
        let outcome = try Workers.run(connections) { client, ready in
            let connection = try PostgresConnection.connect(
                conninfo: source.conninfo, applicationName: "omnisync-bench", label: "connect source")
            defer { connection.close() }
            ready()
            var slots: [Slot] = []
            slots.reserveCapacity(rows.count / connections + 1)
            for index in stride(from: client, to: rows.count, by: connections) {
                let due = start + Int64(Double(index) * interval)
                WallClock.sleep(untilMonotonicNanos: due)
                let late = WallClock.monotonicNanos() - due
                let sent = WallClock.micros()
                let result = try connection.query(RowSet.decrement, [rows.sku(index), rows.location], label: "decrement")
                guard result.affectedRows == 1 else { throw BenchFailure(description: "row \(rows.sku(index)) is missing at the source") }
                slots.append(Slot(index: index, sent: sent, acknowledged: WallClock.micros(), late: late))
            }
            return slots
        }
        var sent = [Int64](repeating: 0, count: rows.count)
        var acknowledged = [Int64](repeating: 0, count: rows.count)
        var latest: Int64 = 0
        for slot in outcome.results.joined() {
            sent[slot.index] = slot.sent
            acknowledged[slot.index] = slot.acknowledged
            latest = max(latest, slot.late)
        }
        let writeSeconds = Double((acknowledged.max() ?? 0) - (sent.min() ?? 0)) / 1e6
        try Convergence.wait(probes, updates: rows.count, timeout: timeout)

        let committed = try sourceProbe.commitTimes()
        var lines = ResultLines()
        lines.add("updates", rows.count)
        lines.add("rate_achieved", Double(rows.count) / writeSeconds, decimals: 1)
        lines.add("schedule_late_max_ms", Double(latest) / 1e6)
        // Commit timestamp → COMMIT returned to the client: the source's WAL flush and the reply.
        lines.addLatency("commit_to_ack", Distribution(zip(acknowledged, committed).map { $0 - $1 }))
        var chosen: [Int64] = []
        var all: [Int64] = []
        for probe in probes {
            let visible = try probe.commitTimes()
            let latencies = zip(visible, committed).map { $0 - $1 }
            if let early = latencies.firstIndex(where: { $0 < 0 }) {
                throw BenchFailure(
                    description: "\(probe.site.name): row \(rows.sku(early)) was committed there before the source committed it")
            }
            all += latencies
            // Per-site lines for the sites that matter (with 20 sites, the pooled figure says enough).
            guard primary.isEmpty || primary.contains(probe.site.name) else { continue }
            chosen += latencies
            lines.addLatency("latency", Distribution(latencies), site: probe.site.name)
            lines.add("apply_commits.\(probe.site.name)", Set(visible).count)
        }
        lines.addLatency("latency", Distribution(chosen))
        if chosen.count != all.count { lines.addLatency("latency_all", Distribution(all)) }
        lines.add("harness_cpu_s", WallClock.processCPUSeconds() - cpuBefore)
        lines.print()
    }
}
