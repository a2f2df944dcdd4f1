import MergeCore

/// What a counter row means, stated as plainly as possible from a global log of events: no vector
/// clocks, no contributions, no hybrid clock. Each event lists the ids of every event its site had
/// seen when it was made (its causal past).
///
/// - `latestWins` (stock counts):
///   value of a column = base of the winning reset of that column (the greatest (time, site);
///   none: 0) + Σ deltas of the events not in that reset's causal past;
///   presence = some event is neither the winning reset nor in its causal past.
/// - `joined` (cart deletes, base 0):
///   value of a column = base of the winning reset + Σ deltas of the events in the causal past of
///   no reset of that column;
///   presence = some event is neither a reset of that column nor in the causal past of any.
///
/// Any state is judged by the set of events it reflects, so the model also says what every
/// intermediate state at every site must show, not only the final one.
struct CounterModel {
    struct Event {
        enum Change {
            case delta([Int64])
            case reset(column: Int, base: Int64, time: Int64)
        }

        let id: Int
        let site: SiteName
        let change: Change
        /// Ids of the events the site had seen before making this one.
        let past: Set<Int>

        var resetTime: Int64? {
            if case .reset(_, _, let time) = change { return time }
            return nil
        }

        func isReset(of column: Int) -> Bool {
            if case .reset(let resetColumn, _, _) = change { return resetColumn == column }
            return false
        }
    }

    let rule: ResetRule
    private(set) var events: [Event] = []

    init(rule: ResetRule) {
        self.rule = rule
    }

    /// Appends an event and returns its id.
    mutating func record(site: SiteName, change: Event.Change, past: Set<Int>) -> Int {
        events.append(Event(id: events.count, site: site, change: change, past: past))
        return events.count - 1
    }

    /// The time a new reset gets: the site's wall clock, or one past every reset the site has seen.
    func resetTime(wallClock: Int64, seen: Set<Int>) -> Int64 {
        let latest = seen.compactMap { events[$0].resetTime }.max() ?? 0
        return max(wallClock, latest + 1)
    }

    /// The reset of `column` that wins among `seen`: greatest time, then greatest site name.
    func winningReset(column: Int, seen: Set<Int>) -> Event? {
        seen.map { events[$0] }.filter { $0.isReset(of: column) }.max { a, b in
            let (timeA, timeB) = (a.resetTime ?? 0, b.resetTime ?? 0)
            if timeA != timeB { return timeA < timeB }
            return Array(a.site.utf8).lexicographicallyPrecedes(Array(b.site.utf8))
        }
    }

    /// The resets of `column` that take effect: the winner, or under `joined` every one.
    func effectiveResets(column: Int, seen: Set<Int>) -> [Event] {
        switch rule {
        case .latestWins: return winningReset(column: column, seen: seen).map { [$0] } ?? []
        case .joined: return seen.map { events[$0] }.filter { $0.isReset(of: column) }
        }
    }

    func value(column: Int, seen: Set<Int>) -> Int64 {
        let resets = effectiveResets(column: column, seen: seen)
        var total: Int64 = 0
        if case .reset(_, let base, _)? = winningReset(column: column, seen: seen)?.change { total = base }
        for id in seen where !resets.contains(where: { $0.past.contains(id) }) {
            if case .delta(let deltas) = events[id].change { total += deltas[column] }
        }
        return total
    }

    func isPresent(resetColumn column: Int, seen: Set<Int>) -> Bool {
        let resets = effectiveResets(column: column, seen: seen)
        return seen.contains { id in !resets.contains { $0.id == id || $0.past.contains(id) } }
    }

    /// The reset event that made the reset stamped `stamp` (a site never stamps two resets alike).
    func resetEvent(stamp: HybridTimestamp) -> Event? {
        events.first { $0.site == stamp.site && $0.resetTime == stamp.time }
    }

    /// Neither event had seen the other.
    func areConcurrent(_ a: Int, _ b: Int) -> Bool {
        a != b && !events[a].past.contains(b) && !events[b].past.contains(a)
    }
}
