/// A plain set of metric values at one instant, built by the daemon and rendered by
/// ``MetricsText``. Names follow Prometheus habits: `omnisync_…`, base units, and labels of low
/// cardinality (a site, never a SKU).
public struct MetricsSnapshot: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Only goes up; rendered with a `_total` suffix.
        case counter
        /// Goes up and down.
        case gauge
    }

    public struct Sample: Sendable, Equatable {
        /// Label name and value pairs; rendered sorted by name.
        public var labels: [String: String]
        public var value: Double

        public init(labels: [String: String] = [:], value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    public struct Family: Sendable, Equatable {
        /// As rendered, including `_total` for counters.
        public let name: String
        public let help: String
        public let kind: Kind
        public internal(set) var samples: [Sample]
    }

    /// Keyed by rendered name.
    public private(set) var families: [String: Family] = [:]

    public init() {}

    /// Adds a counter sample; `name` may omit the `_total` suffix.
    public mutating func counter(_ name: String, help: String, labels: [String: String] = [:], value: Double) {
        let fullName = name.hasSuffix("_total") ? name : name + "_total"
        add(fullName, help: help, kind: .counter, sample: Sample(labels: labels, value: value))
    }

    public mutating func gauge(_ name: String, help: String, labels: [String: String] = [:], value: Double) {
        add(name, help: help, kind: .gauge, sample: Sample(labels: labels, value: value))
    }

    /// The first registration of a name fixes its help and kind; a repeated label set replaces
    /// the earlier value, so the output never holds one series twice.
    private mutating func add(_ name: String, help: String, kind: Kind, sample: Sample) {
        var family = families[name] ?? Family(name: name, help: help, kind: kind, samples: [])
        if let index = family.samples.firstIndex(where: { $0.labels == sample.labels }) {
            family.samples[index] = sample
        } else {
            family.samples.append(sample)
        }
        families[name] = family
    }
}
