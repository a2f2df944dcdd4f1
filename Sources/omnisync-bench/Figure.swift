import Foundation

/// One line of the headline table: a measurement, how it is shown, and the target for it.
struct Figure: Sendable {
    struct Target: Sendable {
        enum Bound: Sendable {
            case atMost, below, atLeast
        }

        let text: String
        let bound: Bound
        let limit: Double

        func isMet(_ value: Double) -> Bool {
            switch bound {
            case .atMost: value <= limit
            case .below: value < limit
            case .atLeast: value >= limit
            }
        }
    }

    enum Unit: Sendable {
        case milliseconds, microseconds, perSecond, percent, megabytes, cpuSeconds

        func format(_ value: Double) -> String {
            switch self {
            case .milliseconds: String(format: "%.2f ms", value)
            case .microseconds: String(format: "%.0f µs", value)
            case .perSecond: Figure.grouped(value) + " /s"
            case .percent: String(format: "%.1f %%", value)
            case .megabytes: String(format: "%.1f MB", value)
            case .cpuSeconds: String(format: "%.3f s", value)
            }
        }
    }

    let scenario: String
    let metric: String
    let label: String
    let target: Target?
    /// Peak memory must hold in every run, not only typically.
    var judgeByMaximum = false
    let unit: Unit

    func format(_ value: Double) -> String { unit.format(value) }

    static func atMost(_ limit: Double, _ text: String) -> Target { Target(text: text, bound: .atMost, limit: limit) }
    static func below(_ limit: Double, _ text: String) -> Target { Target(text: text, bound: .below, limit: limit) }
    static func atLeast(_ limit: Double, _ text: String) -> Target { Target(text: text, bound: .atLeast, limit: limit) }

    /// 12345.6 → "12,346".
    static func grouped(_ value: Double) -> String {
        let digits = String(Int64(value.rounded()))
        var out = ""
        for (offset, character) in digits.reversed().enumerated() {
            if offset > 0, offset % 3 == 0, character != "-" { out.append(",") }
            out.append(character)
        }
        return String(out.reversed())
    }

    static let all: [Figure] = [
        Figure(
            scenario: "latency", metric: "latency_p50_ms", label: "Latency p50 at 1,000 updates/s, store-a → web, store-b",
            target: atMost(3, "≤ 3 ms"), unit: .milliseconds),
        Figure(
            scenario: "latency", metric: "latency_p99_ms", label: "Latency p99 at 1,000 updates/s",
            target: atMost(10, "≤ 10 ms"), unit: .milliseconds),
        Figure(scenario: "latency", metric: "latency_max_ms", label: "Latency max at 1,000 updates/s", target: nil, unit: .milliseconds),
        Figure(
            scenario: "latency", metric: "rate_achieved", label: "Updates/s the writers achieved (latency scenario)", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "burst", metric: "lag_after_last_commit_ms", label: "Burst: lag after the last source commit",
            target: atMost(100, "≤ 100 ms"), unit: .milliseconds),
        Figure(
            scenario: "burst", metric: "e2e_changes_per_s", label: "Burst: end-to-end changes/s (both peers)", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "burst", metric: "source_commit_rate", label: "Burst: source commits/s (2 clients)", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "catchup", metric: "catchup_changes_per_s", label: "Catch-up: changes/s until both peers have them",
            target: atLeast(50_000, "≥ 50,000 /s"), unit: .perSecond),
        Figure(
            scenario: "trigger", metric: "tps_loss_pct", label: "Trigger cost: point-of-sale TPS lost",
            target: atMost(20, "≤ 20 %"), unit: .percent),
        Figure(
            scenario: "trigger", metric: "postgres_cpu_per_tx_increase_pct",
            label: "Trigger cost: PostgreSQL CPU per transaction added", target: nil, unit: .percent),
        Figure(
            scenario: "trigger", metric: "tps_without_triggers", label: "Trigger cost: TPS without triggers", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "trigger", metric: "tps_with_triggers", label: "Trigger cost: TPS with triggers", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "declared", metric: "tps_loss_pct", label: "Declared table (3 counters, 3 lww): point-of-sale TPS lost",
            target: atMost(20, "≤ 20 %"), unit: .percent),
        Figure(
            scenario: "declared", metric: "postgres_cpu_per_tx_increase_pct",
            label: "Declared table: PostgreSQL CPU per transaction added", target: nil, unit: .percent),
        Figure(
            scenario: "declared", metric: "tps_without_triggers", label: "Declared table: TPS without capture", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "declared", metric: "tps_with_triggers", label: "Declared table: TPS with capture", target: nil,
            unit: .perSecond),
        Figure(
            scenario: "sites", metric: "idle_cpu_s_per_min", label: "Idle daemon CPU with 20 sites, per minute",
            target: below(0.5, "< 0.5 s"), unit: .cpuSeconds),
        Figure(
            scenario: "sites", metric: "latency_p50_ms", label: "Latency p50 with 20 sites (→ web, store-b)",
            target: atMost(3, "≤ 3 ms"), unit: .milliseconds),
        Figure(
            scenario: "sites", metric: "latency_p99_ms", label: "Latency p99 with 20 sites (→ web, store-b)",
            target: atMost(10, "≤ 10 ms"), unit: .milliseconds),
        Figure(
            scenario: "sites", metric: "latency_all_p99_ms", label: "Latency p99 with 20 sites (→ all 19 peers)",
            target: atMost(10, "≤ 10 ms"), unit: .milliseconds),
    ] + [10, 50, 100].flatMap(chain) + ["latency", "burst", "catchup", "sites"].flatMap { scenario in
        [
            Figure(
                scenario: scenario, metric: "daemon_cpu_us_per_change", label: "Daemon CPU per change (\(scenario))",
                target: nil, unit: .microseconds),
            Figure(
                scenario: scenario, metric: "postgres_cpu_us_per_change",
                label: "PostgreSQL CPU per change, all clusters (\(scenario))", target: nil, unit: .microseconds),
        ]
    } + ["latency", "burst", "catchup", "trigger", "declared", "sites"].map { scenario in
        Figure(
            scenario: scenario, metric: "daemon_peak_rss_mb", label: "Daemon peak RSS (\(scenario))",
            target: atMost(40, "≤ 40 MB"), judgeByMaximum: true, unit: .megabytes)
    }

    /// The routed chain of `stores` stores and one hub (scenario `chainN`).
    static func chain(_ stores: Int) -> [Figure] {
        let scenario = "chain\(stores)"
        let chain = "chain of \(stores) stores"
        return [
            Figure(
                scenario: scenario, metric: "store_to_web_p50_ms", label: "Store → web latency p50, \(chain)", target: nil,
                unit: .milliseconds),
            Figure(
                scenario: scenario, metric: "store_to_web_p99_ms", label: "Store → web latency p99, \(chain)",
                target: atMost(10, "≤ 10 ms"), unit: .milliseconds),
            Figure(
                scenario: scenario, metric: "store_to_web_max_ms", label: "Store → web latency max, \(chain)", target: nil,
                unit: .milliseconds),
            Figure(
                scenario: scenario, metric: "web_to_store_p50_ms", label: "Web → store latency p50 (web sales of store stock), \(chain)",
                target: nil, unit: .milliseconds),
            Figure(
                scenario: scenario, metric: "web_to_store_p99_ms", label: "Web → store latency p99, \(chain)", target: nil,
                unit: .milliseconds),
            Figure(
                scenario: scenario, metric: "follow_to_present_p99_ms", label: "Follow → customer present p99, \(chain)",
                target: atMost(200, "≤ 200 ms"), unit: .milliseconds),
            Figure(
                scenario: scenario, metric: "rate_achieved", label: "Store sales/s the writers achieved, \(chain)", target: nil,
                unit: .perSecond),
            Figure(
                scenario: scenario, metric: "daemon_cpu_us_per_change", label: "Daemon CPU per change (one recipient each), \(chain)",
                target: nil, unit: .microseconds),
            Figure(
                scenario: scenario, metric: "postgres_cpu_us_per_change", label: "PostgreSQL CPU per change, all clusters, \(chain)",
                target: nil, unit: .microseconds),
            Figure(
                scenario: scenario, metric: "idle_cpu_s_per_min", label: "Idle daemon CPU per minute, \(chain)",
                target: below(1, "< 1 s"), unit: .cpuSeconds),
            Figure(
                scenario: scenario, metric: "daemon_peak_rss_mb", label: "Daemon peak RSS, \(chain)",
                target: atMost(64, "≤ 64 MB"), judgeByMaximum: true, unit: .megabytes),
        ]
    }
}
