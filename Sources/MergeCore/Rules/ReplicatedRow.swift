/// The replicated state of one row of a declared table: the row's sparse vector clock, the
/// greatest hybrid time it has seen, its add-wins deletion if any, and one state per column in
/// the table's column order.
///
/// `merging` is a join — the clock and the deletion joined, the high-water mark the maximum,
/// each column by its rule with the two row clocks as sides — so it is commutative, associative
/// and idempotent whenever every column rule is (`ColumnRuleLawTests` checks both).
///
/// The local operations are what the generated capture trigger does in the site's own
/// transaction; the conformance test holds the two equal.
public struct ReplicatedRow: Hashable, Sendable {
    public private(set) var clock: VectorClock
    /// The greatest hybrid time this row has seen; new stamps are issued past it.
    public private(set) var highWater: Int64
    /// The join of every add-wins delete this row has seen.
    public private(set) var deletion: RowDeletion?
    public private(set) var columns: [ColumnState]

    /// A row never written, with the given columns in their empty states.
    public init(columns: [ColumnState]) {
        self.init(clock: VectorClock(), highWater: 0, deletion: nil, columns: columns)
    }

    public init(clock: VectorClock, highWater: Int64, deletion: RowDeletion?, columns: [ColumnState]) {
        self.clock = clock
        self.highWater = highWater
        self.deletion = deletion
        self.columns = columns
    }

    /// Add-wins presence: the row exists while some change is not covered by the deletes.
    public var isPresent: Bool {
        guard let deletion else { return !clock.isEmpty }
        return !deletion.clock.dominates(clock)
    }

    // MARK: - Local operations

    /// One column's part of a local INSERT or UPDATE.
    public enum ColumnWrite: Hashable, Sendable {
        /// A counter changed by this much (`new − old`; an INSERT: the inserted value).
        case delta(Int64)
        /// Any other rule: the value written (an UPDATE passes only the columns it changed).
        case value(String?)
    }

    /// A local INSERT (`isInsert`) or UPDATE at `site`. Every column write is checked first: if
    /// any rule refuses, nothing changes and the refusal is returned (the statement fails). An
    /// UPDATE that changes nothing is no event; an INSERT always is (it makes the row present).
    public mutating func applyLocalWrite(
        site: SiteName, wallClock: Int64, isInsert: Bool, writes: [(column: Int, write: ColumnWrite)]
    ) -> LocalUpdate {
        var next = self
        next.clock.tick(site)
        let stamp = HybridTimestamp.next(wallClock: wallClock, highWater: highWater, site: site)
        var changed = false
        var stamped = false
        for (index, write) in writes {
            let outcome: LocalUpdate
            switch (next.columns[index], write) {
            case (.counter(var counter), .delta(let delta)):
                outcome = counter.add(delta, at: site)
                next.columns[index] = .counter(counter)
            case (.lastWriterWins(var register), .value(let value)):
                outcome = register.write(value, stamp: stamp, always: isInsert)
                next.columns[index] = .lastWriterWins(register)
                if outcome == .applied { stamped = true }
            case (.extremum(var extremum), .value(let value)):
                outcome = extremum.write(value)
                next.columns[index] = .extremum(extremum)
            case (.status(var status), .value(let value?)):
                outcome = status.write(value, stamp: stamp, seen: next.clock)
                next.columns[index] = .status(status)
                if outcome == .applied { stamped = true }
            case (.status(let status), .value(nil)):
                // NULL where there is no status yet writes nothing; NULL over a status is going back.
                outcome = status.value == nil ? .unchanged : .refused("a status column cannot be set to NULL")
            case (.local, _):
                outcome = .unchanged
            default:
                preconditionFailure("write \(write) does not fit column \(index)")
            }
            switch outcome {
            case .refused: return outcome
            case .applied: changed = true
            case .unchanged: break
            }
        }
        guard changed || isInsert else { return .unchanged }
        if stamped { next.highWater = stamp.time }
        self = next
        return .applied
    }

    /// A local add-wins DELETE at `site`: the row is gone as of everything this site had seen;
    /// every counter is reset to 0 as of the contributions it had seen. Other columns keep their
    /// values, so a concurrent write elsewhere brings the row back with the values it did not set.
    public mutating func applyLocalDelete(site: SiteName, wallClock: Int64) {
        clock.tick(site)
        let stamp = HybridTimestamp.next(wallClock: wallClock, highWater: highWater, site: site)
        let mine = RowDeletion(stamp: stamp, clock: clock)
        deletion = deletion.map { RowDeletion.joined($0, mine) } ?? mine
        for index in columns.indices {
            if case .counter(var counter) = columns[index] {
                counter.reset(to: 0, stamp: stamp, clock: clock)
                columns[index] = .counter(counter)
            }
        }
        highWater = stamp.time
    }

    /// A local physical count of counter column `column`: its value becomes `counted` as of
    /// everything this site had seen (`omnisync.record_count`).
    public mutating func applyLocalCount(site: SiteName, wallClock: Int64, column: Int, counted: Int64) {
        guard case .counter(var counter) = columns[column] else {
            preconditionFailure("column \(column) is not a counter")
        }
        clock.tick(site)
        let stamp = HybridTimestamp.next(wallClock: wallClock, highWater: highWater, site: site)
        counter.reset(to: counted, stamp: stamp, clock: clock)
        columns[column] = .counter(counter)
        highWater = stamp.time
    }

    // MARK: - Merge

    public func merged(with other: ReplicatedRow) -> ReplicatedRow {
        merging(other).row
    }

    /// The join, and the conflicts its columns found, as (column index, conflict).
    public func merging(_ other: ReplicatedRow) -> (row: ReplicatedRow, conflicts: [(column: Int, conflict: ColumnConflict)]) {
        precondition(columns.count == other.columns.count, "merging rows of different tables")
        let sides = MergeSides(mine: clock, theirs: other.clock)
        var conflicts: [(column: Int, conflict: ColumnConflict)] = []
        var merged: [ColumnState] = []
        merged.reserveCapacity(columns.count)
        for index in columns.indices {
            let (state, found) = columns[index].merging(other.columns[index], sides: sides)
            merged.append(state)
            conflicts += found.map { (index, $0) }
        }
        let deletion: RowDeletion?
        switch (self.deletion, other.deletion) {
        case (let a?, let b?): deletion = RowDeletion.joined(a, b)
        case (let one?, nil), (nil, let one?): deletion = one
        case (nil, nil): deletion = nil
        }
        let row = ReplicatedRow(
            clock: clock.merged(with: other.clock), highWater: Swift.max(highWater, other.highWater),
            deletion: deletion, columns: merged)
        return (row, conflicts)
    }
}

/// The add-wins deletes of a row, joined: every change any of them had seen is deleted; the
/// stamp is the latest. A join (pointwise-maximum clock, maximum stamp).
public struct RowDeletion: Hashable, Sendable {
    public let stamp: HybridTimestamp
    /// The row's clock when deleted, including the delete's own tick.
    public let clock: VectorClock

    public init(stamp: HybridTimestamp, clock: VectorClock) {
        self.stamp = stamp
        self.clock = clock
    }

    static func joined(_ a: RowDeletion, _ b: RowDeletion) -> RowDeletion {
        RowDeletion(stamp: Swift.max(a.stamp, b.stamp), clock: a.clock.merged(with: b.clock))
    }
}
