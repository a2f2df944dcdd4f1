/// The measurements of a bench run, by scenario and metric, in the order they were first seen.
struct Samples {
    struct Series {
        let values: [Double]

        var count: Int { values.count }
        var minimum: Double { values.min() ?? 0 }
        var maximum: Double { values.max() ?? 0 }

        /// The middle value; the mean of the two middle ones for an even count.
        var median: Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
    }

    private var order: [(scenario: String, metric: String)] = []
    private var values: [String: [Double]] = [:]

    init(tsv: String) throws {
        for (number, line) in tsv.split(separator: "\n").enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4, let value = Double(fields[3]) else {
                throw BenchFailure(description: "results line \(number + 1) is not 'scenario run metric value': \(line)")
            }
            let key = "\(fields[0])\t\(fields[2])"
            if values[key] == nil { order.append((String(fields[0]), String(fields[2]))) }
            values[key, default: []].append(value)
        }
    }

    func series(_ scenario: String, _ metric: String) -> Series? {
        values["\(scenario)\t\(metric)"].map(Series.init)
    }

    var all: [(String, String, Series)] {
        order.map { ($0.scenario, $0.metric, Series(values: values["\($0.scenario)\t\($0.metric)"] ?? [])) }
    }
}
