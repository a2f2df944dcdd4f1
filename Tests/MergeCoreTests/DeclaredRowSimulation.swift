import MergeCore
import TestSupport

/// Sites writing one row of a declared table — counters, last-writer-wins, greatest, least and a
/// forward-only status — and exchanging whole row states, stale ones included. Every state any site
/// held is archived: the law tests draw their samples from it. Random dictionaries would not do:
/// in real histories equal clock entries carry equal contributions.
struct DeclaredRowSimulation {
    /// What the table allows: physical counts (counters reset, latest wins) or add-wins deletes
    /// (counters reset by deletes, which join). `deltasOnly`: neither, so the model is a plain sum.
    enum Shape: CustomStringConvertible {
        case counted, deletable, deltasOnly

        var resetRule: ResetRule { self == .deletable ? .joined : .latestWins }
        var description: String {
            switch self {
            case .counted: return "counted"
            case .deletable: return "deletable"
            case .deltasOnly: return "deltas-only"
            }
        }
    }

    static let statuses = ["placed", "paid", "ready", "cancelled", "collected"]
    static let sitePool: [SiteName] = ["web", "store-1", "store-2", "store-10", "a", "z-9"]
    /// Text that sorts differently as numbers and as bytes, with equal numbers in different forms.
    static let numbers = ["9", "10", "-3", "10.0", "0.25", "100000000000000000000", "-0", "7.5"]
    static let words = ["", "b", "a", "ab", "Z", "é", "store-10", "store-2"]

    /// The columns in table order.
    enum Column: Int, CaseIterable {
        case quantity, reserved, price, lastSold, firstSeen, status
    }

    let shape: Shape
    let sites: [SiteName]
    private(set) var replicas: [ReplicatedRow]
    private(set) var archive: [ReplicatedRow]
    private var now: Int64 = 1_000_000
    private let clockDrift: [Int64]

    // What the model needs: every applied write.
    private(set) var deltaTotal: [Int64] = [0, 0]
    private(set) var lwwWrites: [(stamp: HybridTimestamp, value: String?)] = []
    private(set) var greatestWritten: [String] = []
    private(set) var leastWritten: [String] = []
    private(set) var furthestStatusRank: Int?
    private(set) var refusals = 0
    private(set) var conflicts: [ColumnConflict] = []

    static func emptyRow(_ shape: Shape) -> ReplicatedRow {
        ReplicatedRow(columns: [
            .counter(CounterColumn(resetRule: shape.resetRule)),
            .counter(CounterColumn(resetRule: shape.resetRule)),
            .lastWriterWins(LastWriterWins()),
            .extremum(Extremum(direction: .greatest, ordering: .number)),
            .extremum(Extremum(direction: .least, ordering: .bytes)),
            .status(ForwardStatus(order: statuses)),
        ])
    }

    init(shape: Shape, using rng: inout SeededGenerator) {
        self.shape = shape
        let count = Int.random(in: 2...5, using: &rng)
        sites = Array(Self.sitePool.shuffled(using: &rng).prefix(count))
        let empty = Self.emptyRow(shape)
        replicas = Array(repeating: empty, count: count)
        archive = [empty]
        clockDrift = (0..<count).map { _ in
            Bool.random(using: &rng) ? Int64.random(in: -1...1, using: &rng) : Int64.random(in: -300...30, using: &rng)
        }
    }

    static func history(shape: Shape, steps: Int, using rng: inout SeededGenerator) -> DeclaredRowSimulation {
        var simulation = DeclaredRowSimulation(shape: shape, using: &rng)
        for _ in 0..<steps { simulation.randomStep(using: &rng) }
        return simulation
    }

    func sample(using rng: inout SeededGenerator) -> ReplicatedRow {
        archive[Int.random(in: archive.indices, using: &rng)]
    }

    mutating func randomStep(using rng: inout SeededGenerator) {
        now += Int64.random(in: 0...2, using: &rng)
        let site = Int.random(in: sites.indices, using: &rng)
        let wall = now + clockDrift[site]
        switch Int.random(in: 0..<100, using: &rng) {
        case ..<45:
            localWrite(at: site, wallClock: wall, using: &rng)
        case ..<52 where shape == .counted:
            let column = Int.random(in: 0...1, using: &rng)
            replicas[site].applyLocalCount(
                site: sites[site], wallClock: wall, column: column, counted: Int64.random(in: 0...50, using: &rng))
        case ..<52 where shape == .deletable && replicas[site].isPresent:
            replicas[site].applyLocalDelete(site: sites[site], wallClock: wall)
        default:
            // A state from another site, current or stale (a late or duplicated delivery).
            let incoming = Bool.random(using: &rng)
                ? replicas[Int.random(in: sites.indices, using: &rng)] : sample(using: &rng)
            let (merged, found) = replicas[site].merging(incoming)
            replicas[site] = merged
            conflicts += found.map(\.conflict)
        }
        archive.append(replicas[site])
    }

    private mutating func localWrite(at site: Int, wallClock: Int64, using rng: inout SeededGenerator) {
        let isInsert = !replicas[site].isPresent
        var writes: [(column: Int, write: ReplicatedRow.ColumnWrite)] = []
        for column in Column.allCases where isInsert || Int.random(in: 0..<3, using: &rng) == 0 {
            switch column {
            case .quantity, .reserved:
                writes.append((column.rawValue, .delta(Int64.random(in: -5...9, using: &rng))))
            case .price:
                writes.append((column.rawValue, .value(Bool.random(using: &rng) ? nil : Self.words.randomElement(using: &rng))))
            case .lastSold:
                writes.append((column.rawValue, .value(Self.numbers.randomElement(using: &rng))))
            case .firstSeen:
                writes.append((column.rawValue, .value(Self.words.randomElement(using: &rng))))
            case .status:
                let value = Int.random(in: 0..<20, using: &rng) == 0 ? "lost" : Self.statuses.randomElement(using: &rng)!
                writes.append((column.rawValue, .value(value)))
            }
        }
        let before = replicas[site]
        let outcome = replicas[site].applyLocalWrite(
            site: sites[site], wallClock: wallClock, isInsert: isInsert, writes: writes)
        guard outcome == .applied else {
            if case .refused = outcome { refusals += 1 }
            return
        }
        for (column, write) in writes {
            switch (Column(rawValue: column)!, write) {
            case (.quantity, .delta(let delta)), (.reserved, .delta(let delta)):
                deltaTotal[column] += delta
            case (.price, .value(let value)):
                if case .lastWriterWins(let register) = replicas[site].columns[column],
                    case .lastWriterWins(let old) = before.columns[column], register != old, let stamp = register.stamp
                {
                    lwwWrites.append((stamp, value))
                }
            case (.lastSold, .value(let value?)):
                greatestWritten.append(value)
            case (.firstSeen, .value(let value?)):
                leastWritten.append(value)
            case (.status, .value(let value?)):
                if let rank = Self.statuses.firstIndex(of: value) {
                    furthestStatusRank = max(furthestStatusRank ?? rank, rank)
                }
            default:
                break
            }
        }
    }

    /// Every site merges every other's state until all agree (a full exchange).
    mutating func exchangeAll() {
        var all = replicas.reduce(Self.emptyRow(shape)) { $0.merged(with: $1) }
        for index in replicas.indices {
            replicas[index] = replicas[index].merged(with: all)
            all = replicas[index]
        }
    }
}
