/// `--name value` options of one harness command. Repeated options keep every value in order.
struct BenchArguments {
    private var values: [String: [String]] = [:]
    private var used: Set<String> = []

    init(_ arguments: [String]) throws(BenchFailure) {
        var rest = arguments[...]
        while let name = rest.popFirst() {
            guard name.hasPrefix("--"), name.count > 2 else { throw .usage("expected an option, not '\(name)'") }
            guard let value = rest.popFirst() else { throw .usage("\(name) needs a value") }
            values[String(name.dropFirst(2)), default: []].append(value)
        }
    }

    mutating func string(_ name: String) throws(BenchFailure) -> String {
        used.insert(name)
        guard let value = values[name]?.last else { throw .usage("missing --\(name)") }
        return value
    }

    mutating func string(_ name: String, default fallback: String) -> String {
        used.insert(name)
        return values[name]?.last ?? fallback
    }

    mutating func int(_ name: String, default fallback: Int? = nil) throws(BenchFailure) -> Int {
        used.insert(name)
        guard let text = values[name]?.last else {
            if let fallback { return fallback }
            throw .usage("missing --\(name)")
        }
        guard let value = Int(text), value >= 0 else { throw .usage("--\(name) must be a whole number, not '\(text)'") }
        return value
    }

    mutating func double(_ name: String, default fallback: Double) throws(BenchFailure) -> Double {
        used.insert(name)
        guard let text = values[name]?.last else { return fallback }
        guard let value = Double(text), value > 0 else { throw .usage("--\(name) must be a positive number, not '\(text)'") }
        return value
    }

    /// Every `--name NAME=CONNINFO`, in order.
    mutating func sites(_ name: String) throws(BenchFailure) -> [BenchSite] {
        used.insert(name)
        var sites: [BenchSite] = []
        for value in values[name] ?? [] {
            guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                throw .usage("--\(name) takes NAME=CONNINFO, not '\(value)'")
            }
            sites.append(BenchSite(name: String(value[..<equals]), conninfo: String(value[value.index(after: equals)...])))
        }
        return sites
    }

    /// Fails on options the command did not ask for (a typo must not silently change a run).
    func checkAllUsed() throws(BenchFailure) {
        if let unknown = values.keys.sorted().first(where: { !used.contains($0) }) {
            throw .usage("unknown option --\(unknown)")
        }
    }
}
