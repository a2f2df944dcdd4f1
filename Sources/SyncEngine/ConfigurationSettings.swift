import DaemonKit
import MergeCore

/// The settings table: the one place that defines every configuration key. Parsing,
/// validation, the example file (`deploy/omnisync.conf.example`) and its drift test read it.
public enum ConfigurationSettings {
    public static let batchSizeRange = 1...100_000
    public static let pollIntervalMsRange = 10...3_600_000
    public static let siteNameMaxLength = 63

    public static let all: [ConfigurationSetting] = [
        ConfigurationSetting(
            section: .daemon, key: "log_level",
            documentation: [
                "Lowest level written to the log: \(LogLevel.allCases.map(\.rawValue).joined(separator: " | ")).",
            ],
            onReload: .inPlace,
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                draft.daemon.logLevel = try choice(value, LogLevel.init(name:), LogLevel.allCases.map(\.rawValue))
            },
            read: { $0.daemon.logLevel.rawValue }
        ),
        ConfigurationSetting(
            section: .daemon, key: "log_format",
            documentation: ["Log line format: logfmt (key=value pairs) | json (one object per line)."],
            onReload: .inPlace,
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                draft.daemon.logFormat = try choice(value, LogFormat.init(name:), LogFormat.allCases.map(\.rawValue))
            },
            read: { $0.daemon.logFormat.rawValue }
        ),
        ConfigurationSetting(
            section: .daemon, key: "batch_size",
            documentation: [
                "Most changes read from one site per round (\(batchSizeRange.lowerBound)-\(batchSizeRange.upperBound)).",
            ],
            onReload: .renewsConnections,
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                draft.daemon.batchSize = try integer(value, in: batchSizeRange)
            },
            read: { String($0.daemon.batchSize) }
        ),
        ConfigurationSetting(
            section: .daemon, key: "poll_interval_ms",
            documentation: [
                "Safety poll, in milliseconds, for when no NOTIFY arrives"
                    + " (\(pollIntervalMsRange.lowerBound)-\(pollIntervalMsRange.upperBound)).",
            ],
            onReload: .renewsConnections,
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                draft.daemon.pollIntervalMs = try integer(value, in: pollIntervalMsRange)
            },
            read: { String($0.daemon.pollIntervalMs) }
        ),
        ConfigurationSetting(
            section: .daemon, key: "metrics_file",
            documentation: [
                "Prometheus text file (node_exporter textfile collector), rewritten after every round.",
                "An absolute path; when unset, no metrics are written.",
            ],
            onReload: .renewsConnections,
            example: "/var/lib/prometheus/node-exporter/omnisync.prom",
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                guard value.hasPrefix("/"), !value.hasSuffix("/"), !value.contains("\0") else {
                    throw ConfigurationSetting.InvalidValue(message: "expected an absolute file path, got '\(value)'")
                }
                draft.daemon.metricsFile = value
            },
            read: { $0.daemon.metricsFile }
        ),
        ConfigurationSetting(
            section: .site, key: "conninfo",
            documentation: [
                "libpq connection string or URI of the site's database.",
                "Passwords belong in ~/.pgpass, PGPASSFILE or PGPASSWORD, not here.",
            ],
            onReload: .renewsConnections,
            required: true,
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                guard !value.isEmpty else {
                    throw ConfigurationSetting.InvalidValue(message: "must not be empty")
                }
                guard !value.contains("\0") else {
                    throw ConfigurationSetting.InvalidValue(message: "must not contain a NUL character")
                }
                draft.conninfo = value
            },
            read: { $0.conninfo }
        ),
        ConfigurationSetting(
            section: .site, key: "hub",
            documentation: [
                "yes: the site receives every row of every table, whatever the table's route (the web",
                "shop, a head office). no: it receives the rows routed to it.",
            ],
            onReload: .renewsConnections,
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                switch value {
                case "yes": draft.hub = true
                case "no": draft.hub = false
                default: throw ConfigurationSetting.InvalidValue(message: "expected yes or no, got '\(value)'")
                }
            },
            read: { ($0.hub ?? false) ? "yes" : "no" }
        ),
        ConfigurationSetting(
            section: .site, key: "locations",
            documentation: [
                "Comma-separated locations the site sells from: the values of retail.stock.location, and",
                "of any column a table routes by 'location', whose rows it receives.",
            ],
            onReload: .renewsConnections,
            defaultDescription: "the site's own name",
            apply: { value, draft throws(ConfigurationSetting.InvalidValue) in
                draft.locations = try locationList(value)
            },
            read: { $0.locations?.joined(separator: ", ") }
        ),
    ]

    /// Reads a `locations` value: names separated by commas, each trimmed, none empty or repeated.
    static func locationList(_ value: String) throws(ConfigurationSetting.InvalidValue) -> [String] {
        var names: [String] = []
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(part.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            guard !name.isEmpty else {
                throw ConfigurationSetting.InvalidValue(
                    message: "a location is empty; write names separated by commas, e.g. 'store-042, store-042-backroom'")
            }
            guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ConfigurationSetting.InvalidValue(message: "the location '\(name)' contains a control character")
            }
            guard !names.contains(name) else {
                throw ConfigurationSetting.InvalidValue(message: "the location '\(name)' is listed twice")
            }
            names.append(name)
        }
        return names
    }

    /// The two sites shown in the example file, the web shop and one store, with values for
    /// site keys that have no default.
    public static let exampleSites: [(name: String, values: [String: String])] = [
        ("web", ["conninfo": "host=/var/run/postgresql dbname=shop user=omnisync", "hub": "yes"]),
        (
            "store-042",
            [
                "conninfo": "postgresql://omnisync@store042.example.internal/pos?sslmode=verify-full",
                "locations": "store-042, store-042-backroom",
            ]
        ),
    ]

    public static func setting(section: ConfigurationSetting.Section, key: String) -> ConfigurationSetting? {
        all.first { $0.section == section && $0.key == key }
    }

    public static func keys(in section: ConfigurationSetting.Section) -> [String] {
        all.filter { $0.section == section }.map(\.key)
    }

    /// Whether `name` may name a site: 1–63 characters of `a-z 0-9 -` (MergeCore's rule, which
    /// the schema's check on `omnisync.site` repeats in SQL; a test keeps the two equal).
    public static func isValidSiteName(_ name: String) -> Bool {
        SiteName.isValidSiteName(name)
    }

    private static func choice<Value>(
        _ value: String, _ parse: (String) -> Value?, _ names: [String]
    ) throws(ConfigurationSetting.InvalidValue) -> Value {
        guard let parsed = parse(value) else {
            throw ConfigurationSetting.InvalidValue(
                message: "expected one of \(names.joined(separator: ", ")), got '\(value)'")
        }
        return parsed
    }

    private static func integer(_ value: String, in range: ClosedRange<Int>) throws(ConfigurationSetting.InvalidValue)
        -> Int
    {
        guard !value.isEmpty, value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let number = Int(value), range.contains(number)
        else {
            throw ConfigurationSetting.InvalidValue(
                message: "expected a whole number from \(range.lowerBound) to \(range.upperBound), got '\(value)'")
        }
        return number
    }
}
