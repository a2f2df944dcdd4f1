import MergeCore
import TestSupport

/// Sites writing one replicated counter row and exchanging whole state snapshots through a network
/// that duplicates, reorders and delays them and replays stale ones. Every state a site takes on is
/// compared with `CounterModel` at once; disagreements are collected in `violations`.
struct CounterSimulation {
    enum Shape: CustomStringConvertible {
        /// A stock row: `on_hand` and `reserved` take deltas; physical counts reset `on_hand`.
        case stock
        /// A cart item: `quantity` takes deltas; a `DELETE` resets it to 0 and presence is add-wins.
        case cart

        var columns: Int { self == .stock ? 2 : 1 }
        var description: String { self == .stock ? "stock" : "cart" }
    }

    /// A state and what the model knows of it: the events it reflects.
    struct Snapshot {
        let row: CounterRow
        let seen: Set<Int>
    }

    /// Names chosen so that byte order matters in tie-breaks (`store-10` < `store-2`).
    static let sitePool: [SiteName] = ["web", "store-1", "store-2", "store-10", "store-010", "a", "z-9", "b"]

    let shape: Shape
    let rule: ResetRule
    let sites: [SiteName]
    private(set) var states: [Snapshot]
    private(set) var model: CounterModel
    /// Every state any site has held, starting with the empty one: the source of stale deliveries
    /// and of law-test samples.
    private(set) var archive: [Snapshot]
    private(set) var inFlight: [Snapshot] = []
    private(set) var conflicts: [ResetConflict] = []
    private(set) var violations: [String] = []
    /// Global time; each site's wall clock is this plus its own, possibly large, drift.
    private var now: Int64 = 1_000_000
    private let clockDrift: [Int64]

    init(shape: Shape, rule: ResetRule, siteCount: Int, using rng: inout SeededGenerator) {
        precondition((1...Self.sitePool.count).contains(siteCount))
        self.shape = shape
        self.rule = rule
        model = CounterModel(rule: rule)
        sites = Array(Self.sitePool.shuffled(using: &rng).prefix(siteCount))
        let empty = Snapshot(row: CounterRow(columns: shape.columns, resetRule: rule), seen: [])
        states = Array(repeating: empty, count: siteCount)
        archive = [empty]
        // Some clocks agree to within a tick (ties between sites), some lag far behind (the hybrid
        // clock has to bump them past what the row has seen).
        clockDrift = (0..<siteCount).map { _ in
            Bool.random(using: &rng)
                ? Int64.random(in: -1...1, using: &rng) : Int64.random(in: -400...40, using: &rng)
        }
    }

    /// A whole random history of `steps` steps, without a final exchange.
    static func history(
        shape: Shape, rule: ResetRule, steps: Int, using rng: inout SeededGenerator
    ) -> CounterSimulation {
        var simulation = CounterSimulation(
            shape: shape, rule: rule, siteCount: Int.random(in: 2...6, using: &rng), using: &rng)
        for _ in 0..<steps { simulation.randomStep(using: &rng) }
        return simulation
    }

    /// A state some site held at some time.
    func sample(using rng: inout SeededGenerator) -> Snapshot {
        archive[Int.random(in: archive.indices, using: &rng)]
    }

    // MARK: - Steps

    mutating func randomStep(using rng: inout SeededGenerator) {
        now += Int64.random(in: 0...2, using: &rng)
        let site = Int.random(in: sites.indices, using: &rng)
        switch Int.random(in: 0..<100, using: &rng) {
        case ..<30: localDelta(at: site, using: &rng)
        case ..<42: localReset(at: site, using: &rng)
        case ..<65: send(from: site, copies: Int.random(in: 1...3, using: &rng))
        case ..<90: deliverInFlight(using: &rng)
        default: deliverStale(to: site, using: &rng)
        }
    }

    /// A sale, receipt or reservation at stock sites; an add or quantity change in a cart (a site
    /// can only change a cart item it has, and never below zero).
    mutating func localDelta(at index: Int, using rng: inout SeededGenerator) {
        let current = states[index]
        let deltas: [Int64]
        switch shape {
        case .stock:
            deltas = [Int64.random(in: -3...3, using: &rng), Int64.random(in: -2...2, using: &rng)]
        case .cart:
            let quantity = current.row.value(column: 0)
            let lowest = current.row.isPresent(resetColumn: 0) ? -min(quantity, 2) : 1
            let delta = Int64.random(in: min(lowest, 3)...3, using: &rng)
            deltas = [delta == 0 ? 1 : delta]
        }
        var row = current.row
        row.applyLocalDelta(site: sites[index], deltas: deltas)
        let id = model.record(site: sites[index], change: .delta(deltas), past: current.seen)
        checkInflation(from: current.row, to: row, at: sites[index], after: "delta \(deltas)")
        settle(index, Snapshot(row: row, seen: current.seen.union([id])), after: "delta \(deltas)")
    }

    /// A physical count of `on_hand`, or a cart `DELETE` (only of an item the site has).
    mutating func localReset(at index: Int, using rng: inout SeededGenerator) {
        let current = states[index]
        let site = sites[index]
        let base: Int64
        switch shape {
        case .stock:
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: base = current.row.value(column: 0)
            case 1: base = Int64.random(in: 0...2, using: &rng)
            default: base = Int64.random(in: 0...40, using: &rng)
            }
        case .cart:
            guard current.row.isPresent(resetColumn: 0) else { return localDelta(at: index, using: &rng) }
            base = 0
        }
        let wallClock = now + clockDrift[index]
        let time = model.resetTime(wallClock: wallClock, seen: current.seen)
        var row = current.row
        row.applyLocalReset(site: site, column: 0, value: base, wallClock: wallClock)
        let expectedStamp = HybridTimestamp(time: time, site: site)
        if row.resets[0]?.stamp != expectedStamp {
            let stamp = row.resets[0].map { "\($0.stamp)" } ?? "none"
            report("\(site) reset at wall clock \(wallClock) got stamp \(stamp), model says \(expectedStamp)")
        }
        let id = model.record(site: site, change: .reset(column: 0, base: base, time: time), past: current.seen)
        checkInflation(from: current.row, to: row, at: site, after: "reset to \(base) at \(time)")
        settle(index, Snapshot(row: row, seen: current.seen.union([id])), after: "reset to \(base) at \(time)")
    }

    /// Puts `copies` copies of a site's current state on the network (duplicated delivery).
    mutating func send(from index: Int, copies: Int) {
        inFlight += Array(repeating: states[index], count: copies)
    }

    /// Delivers a random in-flight snapshot (so in any order) to a random site; sometimes keeps it
    /// in flight to be delivered again.
    mutating func deliverInFlight(using rng: inout SeededGenerator) {
        guard !inFlight.isEmpty else { return }
        let pick = Int.random(in: inFlight.indices, using: &rng)
        let snapshot = inFlight[pick]
        if Int.random(in: 0..<10, using: &rng) < 7 {
            inFlight.swapAt(pick, inFlight.count - 1)
            inFlight.removeLast()
        }
        deliver(snapshot, to: Int.random(in: sites.indices, using: &rng), context: "in-flight snapshot")
    }

    /// Delivers a state some site held at some earlier time.
    mutating func deliverStale(to index: Int, using rng: inout SeededGenerator) {
        guard let snapshot = archive.randomElement(using: &rng) else { return }
        deliver(snapshot, to: index, context: "stale snapshot")
    }

    /// Every site merges every other site's current state, twice round: afterwards all have seen all.
    mutating func fullExchange() {
        for _ in 0..<2 {
            for target in sites.indices {
                for source in sites.indices where source != target {
                    deliver(states[source], to: target, context: "final exchange")
                }
            }
        }
    }

    // MARK: - Checking against the model

    private mutating func deliver(_ snapshot: Snapshot, to index: Int, context: String) {
        let current = states[index]
        let (row, found) = current.row.merging(snapshot.row)
        checkConflicts(found, mine: current.row, theirs: snapshot.row, at: sites[index])
        conflicts += found
        settle(index, Snapshot(row: row, seen: current.seen.union(snapshot.seen)), after: "merging a \(context)")
    }

    private mutating func settle(_ index: Int, _ snapshot: Snapshot, after context: String) {
        states[index] = snapshot
        archive.append(snapshot)
        let site = sites[index]
        for column in 0..<shape.columns {
            let expected = model.value(column: column, seen: snapshot.seen)
            let actual = snapshot.row.value(column: column)
            if actual != expected {
                report("\(site) after \(context): column \(column) is \(actual), model says \(expected)")
            }
        }
        if shape == .cart {
            let expected = model.isPresent(resetColumn: 0, seen: snapshot.seen)
            if snapshot.row.isPresent(resetColumn: 0) != expected {
                report("\(site) after \(context): present is \(!expected), model says \(expected)")
            }
        }
        // The clock counts exactly the events the state reflects.
        var counts: [SiteName: Int64] = [:]
        for id in snapshot.seen { counts[model.events[id].site, default: 0] += 1 }
        if snapshot.row.clock != VectorClock(counts) {
            report("\(site) after \(context): clock \(snapshot.row.clock), model says \(VectorClock(counts))")
        }
    }

    /// A local change only adds to what the state knew: merging the state from before it changes
    /// nothing. For a reset under `joined` this is what makes replacing the column's reset equal
    /// to joining the new reset into it.
    private mutating func checkInflation(
        from before: CounterRow, to after: CounterRow, at site: SiteName, after context: String
    ) {
        let merged = after.merged(with: before)
        if merged != after {
            report("\(site) after \(context): merging the state from before it gives \(merged), not \(after)")
        }
    }

    /// Under `latestWins`, a conflict is reported exactly when the two winning resets met here were
    /// made without seeing each other and disagree; the later stamp wins. Under `joined`, never.
    private mutating func checkConflicts(
        _ found: [ResetConflict], mine: CounterRow, theirs: CounterRow, at site: SiteName
    ) {
        if rule == .joined {
            if !found.isEmpty { report("\(site): conflicts between joined resets: \(found)") }
            return
        }
        for column in 0..<shape.columns {
            let reported = found.filter { $0.column == column }
            guard let a = mine.resets[column], let b = theirs.resets[column] else {
                if !reported.isEmpty { report("\(site): conflict reported with a single reset: \(reported)") }
                continue
            }
            guard let eventA = model.resetEvent(stamp: a.stamp), let eventB = model.resetEvent(stamp: b.stamp) else {
                report("\(site): a reset stamp the model never made: \(a.stamp) or \(b.stamp)")
                continue
            }
            let expected = model.areConcurrent(eventA.id, eventB.id) && a.base != b.base
            guard reported.count == (expected ? 1 : 0) else {
                report(
                    "\(site): \(reported.count) conflicts between \(a.stamp) and \(b.stamp), expected \(expected)")
                continue
            }
            if let conflict = reported.first {
                let (winner, loser) = a.stamp > b.stamp ? (a, b) : (b, a)
                if conflict.winner != winner || conflict.loser != loser {
                    report("\(site): conflict chose \(conflict.winner.stamp) over \(conflict.loser.stamp)")
                }
            }
        }
    }

    private mutating func report(_ violation: String) {
        // The first few say everything; thousands of follow-on failures only bury them.
        if violations.count < 5 { violations.append(violation) }
    }
}
