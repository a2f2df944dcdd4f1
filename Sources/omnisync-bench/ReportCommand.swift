import Foundation

/// `report`: renders the measurements scripts/bench.sh collected (`scenario run metric value`,
/// tab-separated) as the results section of BENCHMARKS.md, replacing the section between its
/// markers and leaving the rest of the file (method, profile) alone.
enum ReportCommand {
    static let begin = "<!-- bench.sh results: begin -->"
    static let end = "<!-- bench.sh results: end -->"

    static func run(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let resultsPath = try options.string("results")
        let environmentPath = try options.string("environment")
        let outputPath = try options.string("output")
        try options.checkAllUsed()

        let samples = try Samples(tsv: try read(resultsPath))
        var environment: [String: String] = [:]
        for line in try read(environmentPath).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        let section = render(samples, environment: environment)
        let existing = (try? read(outputPath)) ?? "# Benchmarks\n\n"
        let updated: String
        if let start = existing.range(of: begin), let stop = existing.range(of: end), start.upperBound <= stop.lowerBound {
            updated = String(existing[..<start.lowerBound]) + section + String(existing[stop.upperBound...])
        } else {
            updated = existing + (existing.hasSuffix("\n\n") ? "" : "\n") + section + "\n"
        }
        do {
            try updated.write(toFile: outputPath, atomically: true, encoding: .utf8)
        } catch {
            throw BenchFailure(description: "cannot write \(outputPath): \(error.localizedDescription)")
        }
    }

    private static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BenchFailure(description: "cannot read \(path): \(error.localizedDescription)")
        }
    }

    static func render(_ samples: Samples, environment: [String: String]) -> String {
        let value = { (key: String) in environment[key] ?? "unknown" }
        var out = begin + "\n"
        out += "## Results\n\n"
        if value("quick") == "1" {
            out += "**Smoke run (`--quick`): shortened scenarios, not comparable with the targets.**\n\n"
        }
        out += "Measured by `scripts/bench.sh` on \(value("date")), omnisync \(value("commit")).\n\n"
        out += "- Machine: \(value("machine")); load average \(value("load_before")) before, \(value("load_after")) after.\n"
        out += "- PostgreSQL \(value("postgresql")), one cluster per site: \(value("settings")).\n"
        out += "- \(value("swift")); release build, run with the environment of deploy/omnisync.service "
        out += "(`MALLOC_ARENA_MAX=2`). Daemon configuration: \(value("daemon_config")); "
        out += "PostgreSQL settings for the daemon's sessions only: \(value("daemon_settings")).\n"
        if value("profile") == "1" {
            out += "- **Profiled run**: perf sampled the machine during the first run of each scenario.\n"
        }
        let runs = value("runs")
        out += "- Every figure is the median of \(runs) run\(runs == "1" ? "" : "s"), with the minimum and maximum.\n\n"

        out += "| figure | target | median | min | max | met |\n|---|---|---|---|---|---|\n"
        for figure in Figure.all {
            guard let series = samples.series(figure.scenario, figure.metric) else { continue }
            let judged = figure.judgeByMaximum ? series.maximum : series.median
            let met = figure.target.map { $0.isMet(judged) ? "yes" : "**no**" } ?? "—"
            out += "| \(figure.label) | \(figure.target?.text ?? "—") | \(figure.format(series.median)) | "
            out += "\(figure.format(series.minimum)) | \(figure.format(series.maximum)) | \(met) |\n"
        }
        out += "\nA figure is met when its median is (for peak RSS: every run is) within the target.\n\n"

        out += "### Every measurement\n\n"
        out += "Per-site figures end in `.SITE`. CPU seconds are over the measured window (`window_seconds`): "
        out += "`other_cpu_s` is what the rest of the machine used meanwhile (the harness excluded where it reports itself).\n\n"
        out += "| scenario | measurement | median | min | max | runs |\n|---|---|---|---|---|---|\n"
        for (scenario, metric, series) in samples.all {
            out += "| \(scenario) | `\(metric)` | \(plain(series.median)) | \(plain(series.minimum)) | \(plain(series.maximum)) | \(series.count) |\n"
        }
        out += end
        return out
    }

    private static func plain(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: abs(value) >= 100 ? "%.1f" : "%.3f", value)
    }
}
