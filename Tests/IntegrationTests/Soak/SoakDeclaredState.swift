import Foundation
import Postgres
import TestSupport

/// The oracle's model of the declared tables, applied in commit order like the rest of the
/// oracle, and the workload that writes them. What every site must hold:
/// - `qty` (counter): the sum of the committed deltas since the row's last delete or count; a
///   count sets it; a delete sets it to 0 (the row is gone until a later change brings it back);
/// - `hi` (greatest): the greatest value ever committed, deletes notwithstanding;
/// - `state` (status): the furthest value ever committed;
/// - `price` (lww): the same at every site, and one of the values committed in the latest
///   window (between two quiescent points) that wrote one: a write stamped past everything its
///   site had merged beats every write of earlier windows;
/// - `note` (local): at each site, its default or a note written at that site;
/// - `pos.ticket` (insert-only): every committed ticket; a number two tills both inserted holds
///   one of the two, with a `duplicate_key` conflict.
///
/// The workload keeps these exact:
/// - a row is deleted at a site only if every change to it since the last quiescence was made
///   there, and no other site changes it while the delete is under way (as cart deletes);
///   counts and prepared transactions count as changes by their own writers;
/// - within one window every write of a row's state writes the same value (the window's
///   target, forward from the state at the last quiescence), and a row's state is written only
///   by a status update or by an insert, so no two status writes that did not see each other
///   differ (no `concurrent_status`); an insert that would take the state back (a row deleted
///   and created again while the target moved on) is refused by the capture with 23514, and
///   that refusal is predicted; in a routed run, a site that does not hold a row inserts it
///   without a state (it has seen none of the row's status writes);
/// - every change changes a replicated column (no delta of 0, a new price), so every change is
///   an event that brings a deleted row back;
/// - counts are made when every site is caught up, at most one per row.
struct SoakDeclaredState: Sendable {
    struct Shelf: Sendable {
        var present = false
        /// `qty` in thousandths.
        var units: Int64 = 0
        var hi: Int64?
        /// The position of `state` in `SoakDeclared.statuses`.
        var status: Int?
        /// The prices committed in window `priceWindow`.
        var prices: Set<String?> = []
        var priceWindow = -1
    }

    struct Ticket: Sendable, Hashable {
        let amount: Int64
        let site: String
    }

    var shelves: [ShelfKey: Shelf] = [:]
    /// Sites that changed a row since the last quiescence (or are changing it).
    var writers: [ShelfKey: Set<String>] = [:]
    var deleting: Set<ShelfKey> = []
    /// Rows a delete has removed at some point.
    var deleted: Set<ShelfKey> = []
    /// The state every status write of a row writes in this window.
    var targets: [ShelfKey: Int] = [:]
    /// Notes written at each site.
    var notes: [String: [ShelfKey: Set<String>]] = [:]
    /// Committed ticket inserts by number.
    var tickets: [String: [Ticket]] = [:]
    /// The tills that hand out each shared ticket number (at most two).
    var sharedClaims: [String: [String]] = [:]
    /// Shared tickets refused at a site with a unique violation: the other till's had arrived.
    var duplicateRefusals: [(number: String, site: String)] = []
    /// A routed run's routes of `pos.shelf` (nil: every row to every site).
    var routing: ShelfRouting?
    /// Sites whose committed writes touched each row: a site where a row was written holds it.
    var holders: [ShelfKey: Set<String>] = [:]
    /// `holders` at the last quiescence: a site that took a row in since holds only its own part
    /// of it until the rest comes back.
    var heldAtQuiescence: [ShelfKey: Set<String>] = [:]
    /// Quiescent points passed.
    var window = 0
    var sequence: [String: Int] = [:]
    var attempted = 0
    /// Statements refused as predicted (a state moved back, a shared ticket already there).
    var refused = 0

    // MARK: - Seeds

    /// Half the shelves (of either bin), each created at one site.
    func seeds(sites: [String]) -> [(site: String, operation: SoakDeclaredOperation)] {
        SoakDeclared.shelfKeys.enumerated().filter { ($0.offset / 2 + $0.offset) % 2 == 0 }.map { index, key in
            (
                sites[index % sites.count],
                .upsert(key: key, units: 1_000_000, price: "4.99", hi: Int64(index * 10), status: "new", note: "seeded")
            )
        }
    }

    // MARK: - Workload

    mutating func plan(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<28:
            return upsert(site: site, rng: &rng) ?? ticket(site: site, rng: &rng)
        case 28..<48:
            return sale(site: site, rng: &rng) ?? ticket(site: site, rng: &rng)
        case 48..<58:
            return reprice(site: site, rng: &rng) ?? ticket(site: site, rng: &rng)
        case 58..<70:
            return status(site: site, rng: &rng) ?? upsert(site: site, rng: &rng) ?? ticket(site: site, rng: &rng)
        case 70..<80:
            return delete(site: site, rng: &rng) ?? upsert(site: site, rng: &rng) ?? ticket(site: site, rng: &rng)
        case 80..<87:
            let key = SoakDeclared.shelfKeys.randomElement(using: &rng)!
            return .note(key: key, note: "\(site) till note \(next("note \(site)"))")
        default:
            return ticket(site: site, rng: &rng)
        }
    }

    private mutating func next(_ counter: String) -> Int {
        let number = sequence[counter, default: 0] + 1
        sequence[counter] = number
        return number
    }

    /// A row to change, not being deleted (`held`: mostly one the oracle knows is there); `site`
    /// is registered as changing it.
    private mutating func changeable(site: String, held: Bool = false, rng: inout SeededGenerator) -> ShelfKey? {
        let present = SoakDeclared.shelfKeys.filter { shelves[$0]?.present == true }
        let pool = held && !present.isEmpty && Int.random(in: 0..<10, using: &rng) < 8 ? present : SoakDeclared.shelfKeys
        for _ in 0..<3 {
            let key = pool.randomElement(using: &rng)!
            guard !deleting.contains(key) else { continue }
            writers[key, default: []].insert(site)
            return key
        }
        return nil
    }

    private mutating func price(site: String, rng: inout SeededGenerator) -> String? {
        if Int.random(in: 0..<10, using: &rng) < 4 {
            return [nil, "4.99", "5.25", "€ 3,10 'promo'"].randomElement(using: &rng)!
        }
        return "p \(site) #\(next("price \(site)"))"
    }

    /// -50 ... 2000: text order and number order disagree (9 < 10, -5 < 3).
    private func high(rng: inout SeededGenerator) -> Int64 {
        Int64.random(in: -50...2_000, using: &rng)
    }

    /// The state an insert of `key` writes: what every site's state will be this window.
    private func insertedStatus(_ key: ShelfKey) -> String? {
        (targets[key] ?? shelves[key]?.status).map { SoakDeclared.statuses[$0] }
    }

    private mutating func upsert(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation? {
        guard let key = changeable(site: site, rng: &rng) else { return nil }
        // Not held here at the last quiescence, the upsert inserts the row here without having
        // seen its status writes (even a deleted row keeps them): it leaves the state alone (NULL
        // writes none).
        let unseen = !held(site, key, since: .quiescence) && shelves[key]?.status != nil
        let units = Int.random(in: 0..<10, using: &rng) < 8
            ? Int64.random(in: 1...9_999, using: &rng) : -Int64.random(in: 1...2_500, using: &rng)
        let hi = Int.random(in: 0..<10, using: &rng) == 0 ? nil : high(rng: &rng)
        return .upsert(
            key: key, units: units, price: price(site: site, rng: &rng), hi: hi, status: unseen ? nil : insertedStatus(key),
            note: "\(site) till note \(next("note \(site)"))")
    }

    private mutating func sale(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation? {
        guard let key = changeable(site: site, held: true, rng: &rng) else { return nil }
        return .sale(
            key: key, units: Int64.random(in: 1...3_500, using: &rng), ticket: "tkt \\\(site)' #\(next("ticket \(site)"))",
            amount: Int64.random(in: 100...9_999, using: &rng))
    }

    private mutating func reprice(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation? {
        guard let key = changeable(site: site, held: true, rng: &rng) else { return nil }
        return .reprice(key: key, price: "p \(site) #\(next("price \(site)"))", hi: high(rng: &rng))
    }

    /// The window's target state of a row that has one, or a new target forward of its state.
    private mutating func status(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation? {
        let last = SoakDeclared.statuses.count - 1
        let candidates = shelves.keys.filter { key in
            shelves[key]!.present && !deleting.contains(key) && (targets[key] != nil || (shelves[key]!.status ?? -1) < last)
                && !partlyHeld(site, key)
        }.sorted()
        guard let key = candidates.randomElement(using: &rng) else { return nil }
        let target = targets[key] ?? Int.random(in: ((shelves[key]!.status ?? -1) + 1)...last, using: &rng)
        targets[key] = target
        writers[key, default: []].insert(site)
        return .status(key: key, status: SoakDeclared.statuses[target])
    }

    private mutating func delete(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation? {
        let candidates = shelves.keys.filter { key in
            shelves[key]!.present && !deleting.contains(key) && (writers[key] ?? []).isSubset(of: [site])
                && held(site, key, since: .quiescence)
        }.sorted()
        guard let key = candidates.randomElement(using: &rng) else { return nil }
        deleting.insert(key)
        writers[key, default: []].insert(site)
        return .delete(key: key)
    }

    private mutating func ticket(site: String, rng: inout SeededGenerator) -> SoakDeclaredOperation {
        let amount = Int64.random(in: 100...9_999, using: &rng)
        if Int.random(in: 0..<100, using: &rng) < 40 {
            if let number = sharedClaims.keys.sorted().first(where: { sharedClaims[$0]!.count == 1 && sharedClaims[$0]![0] != site }) {
                sharedClaims[number]!.append(site)
                return .ticket(number: number, amount: amount, shared: true)
            }
            let number = "shared \"T\" #\(next("shared ticket"))"
            sharedClaims[number] = [site]
            return .ticket(number: number, amount: amount, shared: true)
        }
        return .ticket(number: "tkt \\\(site)' #\(next("ticket \(site)"))", amount: amount, shared: false)
    }

    /// The same new ticket number at two tills, inserted at once.
    mutating func planSharedTicket(sites pair: [String], rng: inout SeededGenerator) -> [(site: String, operation: SoakDeclaredOperation)] {
        let number = "shared \"T\" #\(next("shared ticket"))"
        sharedClaims[number] = pair
        return pair.map { ($0, .ticket(number: number, amount: Int64.random(in: 100...9_999, using: &rng), shared: true)) }
    }

    /// A shelf delta in a two-phase transaction (a fault); it counts as a change of its own, so
    /// the row is not deleted while the transaction is open.
    mutating func planPrepared(site: String, name: String, rng: inout SeededGenerator) -> SoakDeclaredOperation? {
        let key = SoakDeclared.shelfKeys.randomElement(using: &rng)!
        let units = Int64.random(in: 1...5_000, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
        let seconds = Double.random(in: 0.3...2.0, using: &rng), commit = Bool.random(using: &rng)
        guard !deleting.contains(key) else { return nil }
        writers[key, default: []].insert("\(site) (prepared)")
        return .prepared(key: key, units: units, seconds: seconds, commit: commit, name: name)
    }

    /// Counts of `qty`, made while every site is caught up (after `quiesced`): each sees every
    /// earlier change, and its site is the only one that may delete the row until the next.
    mutating func planCounts(sites: [String], rng: inout SeededGenerator) -> [(site: String, operation: SoakDeclaredOperation)] {
        let candidates = shelves.keys.filter { shelves[$0]!.present }.sorted()
        guard !candidates.isEmpty else { return [] }
        var counts: [(String, SoakDeclaredOperation)] = []
        var chosen = Set<ShelfKey>()
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            let key = candidates.randomElement(using: &rng)!
            // Where the row is held: a count is of what the counting site sees.
            let site = sites.filter { holds($0, key) }.randomElement(using: &rng)!
            let units = Int64.random(in: 100_000...2_000_000, using: &rng)
            guard chosen.insert(key).inserted else { continue }
            writers[key] = [site]
            counts.append((site, .count(key: key, units: units)))
        }
        return counts
    }

    /// Every site has caught up.
    mutating func quiesced() {
        writers = [:]
        targets = [:]
        heldAtQuiescence = holders
        window += 1
    }

    // MARK: - Outcomes

    /// A statement refused as the model predicts; anything else is an anomaly.
    mutating func refused(_ operation: SoakDeclaredOperation, site: String, error: any Error) -> Bool {
        if case .delete(let key) = operation { deleting.remove(key) }
        guard let error = error as? PostgresError, error.category != .connection else { return false }
        switch (operation, error.sqlState) {
        case (.upsert(let key, _, _, _, let status, _), "23514"):
            // The row was deleted here, and its state had moved past what the insert carried.
            let carried = status.flatMap { SoakDeclared.statuses.firstIndex(of: $0) } ?? -1
            let known = max(shelves[key]?.status ?? -1, targets[key] ?? -1)
            guard deleted.contains(key) || deleting.contains(key), known > carried else { return false }
        case (.ticket(let number, _, true), "23505"):
            guard sharedClaims[number]?.count == 2 else { return false }
            duplicateRefusals.append((number, site))
        default:
            return false
        }
        refused += 1
        return true
    }

    /// Whether `site` holds the row: it is routed there, or the site wrote it.
    func holds(_ site: String, _ key: ShelfKey) -> Bool {
        held(site, key, since: .now)
    }

    enum Moment { case now, quiescence }

    /// The site took the row in since the last quiescence (it wrote a row routed away from it):
    /// it holds its own part, and has seen none of the row's status writes yet.
    func partlyHeld(_ site: String, _ key: ShelfKey) -> Bool {
        holds(site, key) && !held(site, key, since: .quiescence)
    }

    /// Whether `site` holds the row now, or held it already at the last quiescence (and so had
    /// every change to it then).
    func held(_ site: String, _ key: ShelfKey, since moment: Moment) -> Bool {
        guard let routing else { return true }
        return routing.routes(site, key) || (moment == .now ? holders : heldAtQuiescence)[key]?.contains(site) == true
    }

    mutating func apply(_ operation: SoakDeclaredOperation, site: String, result: SoakOperation.Result, anomalies: inout [String]) {
        if let key = operation.shelfKey, Self.wrote(operation, result) { holders[key, default: []].insert(site) }
        func update(_ key: ShelfKey, _ change: (inout Shelf) -> Void) {
            var shelf = shelves[key] ?? Shelf()
            change(&shelf)
            shelves[key] = shelf
        }
        let window = window
        func write(price: String?, to shelf: inout Shelf) {
            if shelf.priceWindow != window {
                shelf.priceWindow = window
                shelf.prices = []
            }
            shelf.prices.insert(price)
        }
        func raise(_ hi: Int64?, in shelf: inout Shelf) {
            guard let hi else { return }
            shelf.hi = max(shelf.hi ?? hi, hi)
        }
        switch operation {
        case .upsert(let key, let units, let price, let hi, let status, let note):
            update(key) { shelf in
                shelf.present = true
                shelf.units += units
                write(price: price, to: &shelf)
                raise(hi, in: &shelf)
                if result.inserted, let rank = status.flatMap({ SoakDeclared.statuses.firstIndex(of: $0) }) {
                    shelf.status = max(shelf.status ?? rank, rank)
                }
            }
            notes[site, default: [:]][key, default: []].insert(note)
        case .sale(let key, let units, let ticket, let amount):
            tickets[ticket, default: []].append(Ticket(amount: amount, site: site))
            if result.affected == 1 {
                update(key) { shelf in
                    shelf.present = true
                    shelf.units -= units
                }
            }
        case .reprice(let key, let price, let hi):
            if result.affected == 1 {
                update(key) { shelf in
                    shelf.present = true
                    write(price: price, to: &shelf)
                    raise(hi, in: &shelf)
                }
            }
        case .status(let key, let status):
            if result.affected == 1, let rank = SoakDeclared.statuses.firstIndex(of: status) {
                update(key) { shelf in
                    shelf.present = true
                    shelf.status = max(shelf.status ?? rank, rank)
                }
            }
        case .delete(let key):
            deleting.remove(key)
            deleted.insert(key)
            let shelf = shelves[key] ?? Shelf()
            let expected = shelf.present ? Self.values(of: shelf) : nil
            if result.affected == 1, result.row != expected {
                anomalies.append(
                    "\(site): \(operation) removed \(Self.show(result.row)), but every change to it was made here (or seen at quiescence): expected \(Self.show(expected))")
            } else if result.affected == 0, shelf.present {
                anomalies.append("\(site): \(operation) found no row, but every change to it was made here and left \(Self.show(expected))")
            }
            update(key) { shelf in
                shelf.present = false
                shelf.units = 0
            }
        case .note(let key, let note):
            if result.affected == 1 { notes[site, default: [:]][key, default: []].insert(note) }
        case .count(let key, let units):
            if shelves[key]?.present != true { anomalies.append("\(site): \(operation) counted a row that is not there") }
            update(key) { shelf in
                shelf.present = true
                shelf.units = units
            }
        case .prepared(let key, let units, _, let commit, _):
            if commit, result.affected == 1 {
                update(key) { shelf in
                    shelf.present = true
                    shelf.units += units
                }
            }
        case .ticket(let number, let amount, _):
            tickets[number, default: []].append(Ticket(amount: amount, site: site))
        }
    }

    /// Whether the operation changed the row at its site, so that capture recorded it there.
    private static func wrote(_ operation: SoakDeclaredOperation, _ result: SoakOperation.Result) -> Bool {
        switch operation {
        case .upsert, .count: true
        case .note: false
        case .prepared(_, _, _, let commit, _): commit && result.affected > 0
        case .sale, .reprice, .status, .delete, .ticket: result.affected > 0
        }
    }

    // MARK: - Expectations

    /// `qty`, `hi`, `state` as text, as `SoakDeclared.readShelves` reads them.
    static func values(of shelf: Shelf) -> [String?] {
        [SoakDeclared.scale.text(units: shelf.units), shelf.hi.map(String.init), shelf.status.map { SoakDeclared.statuses[$0] }]
    }

    static func show(_ values: [String?]?) -> String {
        guard let values else { return "(no row)" }
        return "(" + values.map { $0.map { String(reflecting: $0) } ?? "NULL" }.joined(separator: ", ") + ")"
    }

    /// The rows every site must hold.
    var expectedShelves: [ShelfKey: Shelf] {
        shelves.filter { $0.value.present }
    }

    /// Each ticket's possible rows (`amount`, `site`): one, or either of two duplicate inserts.
    var expectedTickets: [String: Set<[String?]>] {
        tickets.mapValues { Set($0.map { [String($0.amount), $0.site] }) }
    }

    var expectedConflicts: Set<String> {
        Set(tickets.filter { $0.value.count > 1 }.keys.map { "duplicate_key " + SoakDeclared.ticketTag($0) })
    }

    /// What must hold once the run is over: a shared ticket refused at a site was inserted at the
    /// other; no ticket was inserted by more than the two tills that share it.
    var problems: [String] {
        var problems: [String] = []
        for refusal in duplicateRefusals where !(tickets[refusal.number] ?? []).contains(where: { $0.site != refusal.site }) {
            problems.append("\(refusal.site): shared ticket \(String(reflecting: refusal.number)) was refused as a duplicate, but no other site's insert of it committed")
        }
        for (number, inserts) in tickets.sorted(by: { $0.key < $1.key }) where Set(inserts.map(\.site)).count != inserts.count {
            problems.append("ticket \(String(reflecting: number)) was inserted twice at one site: \(inserts)")
        }
        return problems
    }
}
