import Foundation
import Postgres
import SyncEngine
import Synchronization

/// What every site must hold, computed from the workload alone: every operation whose commit
/// succeeded, applied in commit order to a plain model of the contract (deltas add up, counts
/// set `on_hand`, a cart delete removes the row, records are copied). It also predicts the
/// conflicts: `oversell` where a row ends with `on_hand - reserved < 0`, `over_return` where an
/// order line's returns from more than one place exceed what was bought, nothing else.
///
/// The workload is shaped so that this model is exact despite concurrency and faults:
/// - counts are made only when every site is caught up, so a count saw every earlier change;
/// - a cart item is deleted at a site only if every change to it since the last quiescence was
///   made at that site (so the delete saw them all), and while the delete is under way no other
///   site changes the item;
/// - rows that can become oversold (scarce items) are only ever sold, so their merged value can
///   only fall and a transient oversell is also a final one; every other row starts far above
///   anything the workload can sell or reserve.
final class SoakOracle: Sendable {
    struct Event: Sendable {
        let seconds: Double
        let site: String
        let text: String
        let rows: [String]
    }

    struct Order: Sendable {
        let customer: String
        let channel: String
        let placedAt: Int64
        let lines: [SoakOperation.Line]
    }

    struct Return: Sendable {
        let orderID: String
        let lineNo: Int
        let quantity: Int64
        let location: String
        let returnedAt: Int64
        let site: String
    }

    struct State: Sendable {
        /// [on_hand, reserved]
        var stock: [RowKey: [Int64]] = [:]
        var scarce: Set<RowKey> = []
        var carts: [RowKey: Int64] = [:]
        /// `retail.loyalty` balances by customer.
        var points: [String: Int64] = [:]
        /// In a routed run: the sites whose committed writes touched each customer's balance, and
        /// the customers each site follows.
        var pointsWriters: [String: Set<String>] = [:]
        var follows: [String: Set<String>] = [:]
        /// In a routed run (`retail.cart_items` routed `follow cart cart_id`): the carts each site
        /// follows, the sites whose committed writes touched each item, and the sites that held
        /// each item at the last quiescence (only those may delete it: they saw all of it).
        var cartFollows: [String: Set<String>] = [:]
        var cartEverWriters: [RowKey: Set<String>] = [:]
        var cartHoldersAtQuiescence: [RowKey: Set<String>] = [:]
        /// Sites that changed a cart item since the last quiescence (or are changing it).
        var cartWriters: [RowKey: Set<String>] = [:]
        var cartDeleting: Set<RowKey> = []
        var orders: [String: Order] = [:]
        var returns: [String: Return] = [:]
        /// The application's own declared tables.
        var declared = SoakDeclaredState()
        var sequence: [String: Int] = [:]
        var events: [Event] = []
        var anomalies: [String] = []
        var attempted = 0
        var committed = 0
    }

    let sites: [String]
    /// Ordinary items, some with names that need quoting anywhere they are spliced.
    let skus = ["sku-1", "sku-2", "o'brien", "back\\slash", "line\nbreak", "emoji-🛒", "tab\tsku", "sku-8"]
    /// Items created during the workload, possibly at several sites at once.
    let newSKUs = ["new-1", "new-2", "new-3"]
    let cartIDs = ["cart-1", "cart-2", "cart \"3\"", "cárt-4", "cart-5"]
    let cartSKUs = ["sku-1", "emoji-🛒", "o'brien"]
    /// Loyalty customers; balances start high enough that redemptions never take one below zero.
    let customers = ["cust-1", "cust 'two'", "cüst-3"]
    let state = Mutex(State())
    private let started = ContinuousClock.now

    /// In a routed run, `retail.loyalty` is routed `follow customer customer_id` and this is its
    /// hub (the first site); nil otherwise.
    let loyaltyHub: String?

    init(sites: [String], routed: Bool = false) {
        self.sites = sites
        loyaltyHub = routed ? sites[0] : nil
    }

    /// Whether `site` holds the customer's balance: every site does, unless the run is routed;
    /// then the hub, the sites that follow the customer, and those that wrote the balance.
    func holdsPoints(_ site: String, _ customer: String, in state: State) -> Bool {
        guard let hub = loyaltyHub else { return true }
        return site == hub || state.follows[site]?.contains(customer) == true
            || state.pointsWriters[customer]?.contains(site) == true
    }

    /// Whether `site` holds the cart item: every site does, unless the run is routed; then the
    /// hub, the sites that follow the cart, and those that wrote the item.
    func holdsCart(_ site: String, _ key: RowKey, in state: State) -> Bool {
        guard let hub = loyaltyHub else { return true }
        return site == hub || state.cartFollows[site]?.contains(key.k1) == true
            || state.cartEverWriters[key]?.contains(site) == true
    }

    var seconds: Double {
        let parts = (ContinuousClock.now - started).components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The rows every site starts from, each inserted at the site that owns its location.
    func seedOperations() -> [(site: String, operation: SoakOperation)] {
        var seeds: [(String, SoakOperation)] = []
        for location in sites {
            for sku in skus {
                seeds.append((location, .receipt(key: RowKey(sku, location), quantity: 1_000_000)))
            }
        }
        let scarce = [(RowKey("scarce-1", sites[1]), Int64(3)), (RowKey("scarce-2", sites[0]), Int64(4))]
        state.withLock { state in
            for (key, _) in scarce { state.scarce.insert(key) }
        }
        for (key, quantity) in scarce {
            seeds.append((key.k2 ?? sites[0], .receipt(key: key, quantity: quantity)))
        }
        for (index, customer) in customers.enumerated() {
            seeds.append((sites[index % sites.count], .pointsOpened(customer: customer, points: 1_000_000)))
        }
        for (site, operation) in state.withLock({ $0.declared.seeds(sites: sites) }) {
            seeds.append((site, .declared(operation)))
        }
        return seeds
    }

    // MARK: - Recording

    func note(site: String, _ text: String) {
        let now = seconds
        state.withLock { $0.events.append(Event(seconds: now, site: site, text: text, rows: [])) }
    }

    func anomaly(_ text: String) {
        let now = seconds
        state.withLock {
            $0.anomalies.append(text)
            $0.events.append(Event(seconds: now, site: "-", text: "ANOMALY " + text, rows: []))
        }
    }

    /// Applies a finished operation: its effects if it committed, only its bookkeeping if not.
    func record(site: String, operation: SoakOperation, outcome: Result<SoakOperation.Result, any Error>) {
        let now = seconds
        state.withLock { state in
            state.attempted += 1
            if case .declared = operation { state.declared.attempted += 1 }
            var text = operation.description
            switch outcome {
            case .failure(let error):
                if case .cartDelete(let key) = operation { state.cartDeleting.remove(key) }
                text += " -> FAILED: \(error)"
                if case .declared(let declared) = operation, state.declared.refused(declared, site: site, error: error) {
                    // Refused in the application's statement, as the model predicts: nothing was written.
                    text += " (refused as predicted)"
                } else if let error = error as? PostgresError, error.category != .connection,
                    ["40P01", "40001", "55P03"].contains(error.sqlState ?? "")
                {
                    // A deadlock with the daemon's apply or a lock timeout: rolled back, as for any application.
                } else {
                    state.anomalies.append("\(site): \(text)")
                }
            case .success(let result):
                state.committed += 1
                text += " -> committed, \(result.affected) row(s)" + (result.removed.map { ", removed \($0)" } ?? "")
                apply(operation, site: site, result: result, to: &state)
            }
            state.events.append(Event(seconds: now, site: site, text: text, rows: operation.touchedRows))
        }
    }

    private func apply(_ operation: SoakOperation, site: String, result: SoakOperation.Result, to state: inout State) {
        func move(_ key: RowKey, onHand: Int64, reserved: Int64 = 0) {
            var row = state.stock[key] ?? [0, 0]
            row[0] += onHand
            row[1] += reserved
            state.stock[key] = row
        }
        switch operation {
        case .stockDelta(let key, let onHand, let reserved):
            if result.affected == 1 {
                move(key, onHand: onHand, reserved: reserved)
            } else {
                state.anomalies.append("\(site): \(operation) changed \(result.affected) rows; the row exists everywhere")
            }
        case .bulkDelta(let location, let onHand, let rows):
            if result.affected == rows {
                for sku in skus { move(RowKey(sku, location), onHand: onHand) }
            } else {
                state.anomalies.append("\(site): \(operation) changed \(result.affected) rows, not \(rows)")
            }
        case .receipt(let key, let quantity):
            move(key, onHand: quantity)
        case .pointsOpened(let customer, let points):
            state.points[customer, default: 0] += points
            state.pointsWriters[customer, default: []].insert(site)
        case .follow("cart", let cart, let on):
            if on { state.cartFollows[site, default: []].insert(cart) } else { state.cartFollows[site]?.remove(cart) }
        case .follow(_, let customer, let on):
            if on { state.follows[site, default: []].insert(customer) } else { state.follows[site]?.remove(customer) }
        case .pointsDelta(let customer, let delta):
            if result.affected == 1 {
                state.points[customer, default: 0] += delta
                state.pointsWriters[customer, default: []].insert(site)
            } else if loyaltyHub != nil {
                // Routed: a till that does not hold the balance (yet) changes nothing.
            } else {
                state.anomalies.append("\(site): \(operation) changed \(result.affected) rows; the balance exists everywhere")
            }
        case .scarceSale(let key, let quantity):
            if result.affected == 1 { move(key, onHand: -quantity) }
        case .cartChange(let key, let delta):
            state.carts[key, default: 0] += delta
            state.cartEverWriters[key, default: []].insert(site)
        case .cartDelete(let key):
            state.cartDeleting.remove(key)
            if result.affected == 1 { state.cartEverWriters[key, default: []].insert(site) }
            let expected = state.carts[key]
            if result.affected == 1, expected != result.removed {
                state.anomalies.append(
                    "\(site): \(operation) removed \(result.removed.map(String.init) ?? "?"), but every change to it was made here (or seen at quiescence) and they add up to \(expected.map(String.init) ?? "no row")")
            } else if result.affected == 0, let expected {
                state.anomalies.append("\(site): \(operation) found no row, but every change to it was made here and left \(expected)")
            }
            state.carts[key] = nil
        case .order(let id, let customer, let placedAt, let lines, let location):
            state.orders[id] = Order(customer: customer, channel: location, placedAt: placedAt, lines: lines)
            for line in lines { move(RowKey(line.sku, location), onHand: -line.quantity) }
        case .returnItem(let id, let orderID, let lineNo, let sku, let quantity, let location, let returnedAt):
            state.returns[id] = Return(
                orderID: orderID, lineNo: lineNo, quantity: quantity, location: location, returnedAt: returnedAt, site: site)
            move(RowKey(sku, location), onHand: quantity)
        case .count(let key, let counted):
            var row = state.stock[key] ?? [0, 0]
            row[0] = counted
            state.stock[key] = row
        case .held(let key, let onHand, _):
            move(key, onHand: onHand)
        case .prepared(let key, let onHand, _, let commit, _):
            if commit { move(key, onHand: onHand) }
        case .declared(let operation):
            state.declared.apply(operation, site: site, result: result, anomalies: &state.anomalies)
        }
    }

    /// Every site has caught up: a cart item may now be deleted by whichever site holds it.
    func quiesced() {
        state.withLock { state in
            state.cartWriters = [:]
            state.cartHoldersAtQuiescence = state.carts.keys.reduce(into: [:]) { holders, key in
                holders[key] = Set(sites.filter { holdsCart($0, key, in: state) })
            }
            state.declared.quiesced()
        }
    }

    // MARK: - Expectations

    /// Every row `site` must hold, with the values as text, keyed like the sites' rows.
    func expectedRows(at site: String) -> [ReplicatedTable: [RowKey: [String?]]] {
        state.withLock { state in
            var rows: [ReplicatedTable: [RowKey: [String?]]] = [:]
            rows[.stock] = state.stock.mapValues { $0.map { String($0) } }
            rows[.cartItems] = state.carts.filter { holdsCart(site, $0.key, in: state) }.mapValues { [String($0)] }
            var orders: [RowKey: [String?]] = [:]
            var lines: [RowKey: [String?]] = [:]
            for (id, order) in state.orders {
                orders[RowKey(id)] = [order.customer, order.channel, String(order.placedAt)]
                for (index, line) in order.lines.enumerated() {
                    lines[RowKey(id, String(index + 1))] = [line.sku, String(line.quantity)]
                }
            }
            rows[.orders] = orders
            rows[.orderLines] = lines
            var returns: [RowKey: [String?]] = [:]
            for (id, item) in state.returns {
                returns[RowKey(id)] = [
                    item.orderID, String(item.lineNo), String(item.quantity), item.location, String(item.returnedAt),
                ]
            }
            rows[.returns] = returns
            return rows
        }
    }

    /// The loyalty balances every site must show.
    /// The balances `site` must hold.
    func expectedPoints(at site: String) -> [String: Int64] {
        state.withLock { state in state.points.filter { holdsPoints(site, $0.key, in: state) } }
    }

    /// The conflicts `omnisync conflicts --all` must list, as `kind table|key`.
    func expectedConflicts() -> Set<String> {
        state.withLock { state in
            var expected = Set<String>()
            for (key, row) in state.stock where row[0] - row[1] < 0 {
                expected.insert("oversell " + SoakOperation.tag(.stock, key))
            }
            var byLine: [RowKey: [Return]] = [:]
            for item in state.returns.values {
                byLine[RowKey(item.orderID, String(item.lineNo)), default: []].append(item)
            }
            for (line, returns) in byLine {
                guard let order = state.orders[line.k1], let number = Int(line.k2 ?? ""),
                    order.lines.indices.contains(number - 1)
                else { continue }
                let bought = order.lines[number - 1].quantity
                let places = Set(returns.map(\.site))
                if places.count > 1, returns.reduce(0, { $0 + $1.quantity }) > bought {
                    expected.insert("over_return " + SoakOperation.tag(.orderLines, line))
                }
            }
            return expected.union(state.declared.expectedConflicts)
        }
    }

    var counts: (attempted: Int, committed: Int) {
        state.withLock { ($0.attempted, $0.committed) }
    }

    /// The declared tables' model as it stands (at a quiescent point: what every site must hold).
    var declared: SoakDeclaredState {
        state.withLock { $0.declared }
    }

    var anomalies: [String] { state.withLock { $0.anomalies } }

    /// The faults and notes, plus every operation that touched one of `rows`: the least a person
    /// needs to follow a divergence.
    func replayLog(rows: Set<String>, limit: Int = 200) -> [String] {
        let events = state.withLock { $0.events }
        let locations = Set(rows.compactMap { row -> String? in
            guard row.hasPrefix("stock|"), let data = row.dropFirst(6).data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: String]
            else { return nil }
            return object["location"].map { "stock|location=\($0)" }
        })
        let relevant = events.filter { $0.rows.isEmpty || !rows.isDisjoint(with: $0.rows) || !locations.isDisjoint(with: $0.rows) }
        let shown = relevant.suffix(limit)
        var lines = shown.map { String(format: "%8.3fs ", $0.seconds) + "\($0.site): \($0.text)" }
        if relevant.count > shown.count { lines.insert("(\(relevant.count - shown.count) earlier events left out)", at: 0) }
        return lines
    }
}
