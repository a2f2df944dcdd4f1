import Foundation
import SyncEngine
import TestSupport

/// The workload: what an application at a site does next, drawn from that site's own seeded
/// generator and from what the oracle knows has committed (orders to return, carts to empty).
/// Anything that decides iterates in sorted order: dictionary order changes between processes,
/// and a seed must replay the same choices.
extension SoakOracle {
    /// The next operation of `site`'s writer; registers what the oracle must know before it runs.
    func plan(site: String, rng: inout SeededGenerator) -> SoakOperation {
        state.withLock { state in
            // A quarter of the work is on the application's own declared tables.
            if Int.random(in: 0..<4, using: &rng) == 0 {
                return .declared(state.declared.plan(site: site, rng: &rng))
            }
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<22:
                return sale(site: site, rng: &rng)
            case 22..<24:
                return .bulkDelta(
                    location: sites.randomElement(using: &rng)!, onHand: Int64.random(in: -3...3, using: &rng) | 1,
                    rows: skus.count)
            case 24..<32:
                let skus = Bool.random(using: &rng) ? newSKUs : skus
                let key = RowKey(skus.randomElement(using: &rng)!, sites.randomElement(using: &rng)!)
                return .receipt(key: key, quantity: Int64.random(in: 1...20, using: &rng))
            case 32..<40:
                let key = RowKey(skus.randomElement(using: &rng)!, sites.randomElement(using: &rng)!)
                let amount = Int64.random(in: 1...3, using: &rng)
                let release = (state.stock[key]?[1] ?? 0) >= amount && Bool.random(using: &rng)
                return .stockDelta(key: key, onHand: 0, reserved: release ? -amount : amount)
            case 40..<46:
                let key = state.scarce.sorted().randomElement(using: &rng)!
                return .scarceSale(key: key, quantity: Int64.random(in: 1...2, using: &rng))
            case 46..<62:
                return cartChange(site: site, state: &state, rng: &rng) ?? sale(site: site, rng: &rng)
            case 62..<70:
                return cartDelete(site: site, state: &state, rng: &rng)
                    ?? cartChange(site: site, state: &state, rng: &rng) ?? sale(site: site, rng: &rng)
            case 70..<78:
                return order(site: site, state: &state, rng: &rng)
            case 78..<82:
                // Routed: now and then a till follows a customer, or stops.
                if loyaltyHub != nil, site != loyaltyHub, Int.random(in: 0..<3, using: &rng) == 0 {
                    if Bool.random(using: &rng) {
                        let cart = cartIDs.randomElement(using: &rng)!
                        return .follow(namespace: "cart", value: cart, on: state.cartFollows[site]?.contains(cart) != true)
                    }
                    let customer = customers.randomElement(using: &rng)!
                    return .follow(namespace: "customer", value: customer, on: state.follows[site]?.contains(customer) != true)
                }
                // Points earned online or redeemed at a till, on a generated table.
                return .pointsDelta(
                    customer: customers.randomElement(using: &rng)!,
                    delta: Int64.random(in: 1...50, using: &rng) * (Bool.random(using: &rng) ? 1 : -1))
            default:
                return returnItem(site: site, state: &state, rng: &rng) ?? sale(site: site, rng: &rng)
            }
        }
    }

    /// A transaction held open while other things happen (one of the soak's faults).
    func planHeld(site: String, rng: inout SeededGenerator) -> SoakOperation {
        let key = RowKey(skus.randomElement(using: &rng)!, sites.randomElement(using: &rng)!)
        let delta = Int64.random(in: 1...5, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
        return .held(key: key, onHand: delta, seconds: Double.random(in: 0.5...1.5, using: &rng))
    }

    /// A two-phase transaction committed or rolled back a moment after it was prepared (a fault),
    /// a third of the time on a declared table.
    func planPrepared(site: String, name: String, rng: inout SeededGenerator) -> SoakOperation {
        if Int.random(in: 0..<3, using: &rng) == 0,
            let shelf = state.withLock({ $0.declared.planPrepared(site: site, name: name, rng: &rng) })
        {
            return .declared(shelf)
        }
        let key = RowKey(skus.randomElement(using: &rng)!, sites.randomElement(using: &rng)!)
        let delta = Int64.random(in: 1...5, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
        return .prepared(
            key: key, onHand: delta, seconds: Double.random(in: 0.3...2.0, using: &rng), commit: Bool.random(using: &rng),
            name: name)
    }

    /// One ticket number handed out by two tills at once.
    func planSharedTicket(sites pair: [String], rng: inout SeededGenerator) -> [(site: String, operation: SoakOperation)] {
        state.withLock { $0.declared.planSharedTicket(sites: pair, rng: &rng) }.map { ($0.site, .declared($0.operation)) }
    }

    /// Physical counts, made while every site is caught up: each sees every earlier change.
    func planCounts(rng: inout SeededGenerator) -> [(site: String, operation: SoakOperation)] {
        let candidates = state.withLock { state in state.stock.keys.filter { !state.scarce.contains($0) }.sorted() }
        var counts: [(String, SoakOperation)] = []
        var chosen = Set<RowKey>()
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let key = candidates.randomElement(using: &rng)!
            // Two counts of one row before either is delivered would be concurrent.
            guard chosen.insert(key).inserted else { continue }
            counts.append((sites.randomElement(using: &rng)!, .count(key: key, counted: Int64.random(in: 50_000...200_000, using: &rng))))
        }
        let shelfCounts = state.withLock { $0.declared.planCounts(sites: sites, rng: &rng) }
        return counts + shelfCounts.map { ($0.site, .declared($0.operation)) }
    }

    private func sale(site: String, rng: inout SeededGenerator) -> SoakOperation {
        // One hot row that every site sells from, as a web shop's best seller.
        let key =
            Int.random(in: 0..<10, using: &rng) < 4
            ? RowKey(skus[0], sites[0]) : RowKey(skus.randomElement(using: &rng)!, sites.randomElement(using: &rng)!)
        return .stockDelta(key: key, onHand: -Int64.random(in: 1...3, using: &rng), reserved: 0)
    }

    private func cartChange(site: String, state: inout State, rng: inout SeededGenerator) -> SoakOperation? {
        for _ in 0..<3 {
            let key = RowKey(cartIDs.randomElement(using: &rng)!, cartSKUs.randomElement(using: &rng)!)
            guard !state.cartDeleting.contains(key) else { continue }
            state.cartWriters[key, default: []].insert(site)
            let delta = (state.carts[key] ?? 0) >= 2 && Bool.random(using: &rng) ? -1 : Int64.random(in: 1...3, using: &rng)
            return .cartChange(key: key, delta: delta)
        }
        return nil
    }

    private func cartDelete(site: String, state: inout State, rng: inout SeededGenerator) -> SoakOperation? {
        // Routed: only a site that held the whole item at the last quiescence, and holds it still.
        let candidates = state.carts.keys.filter { key in
            !state.cartDeleting.contains(key) && (state.cartWriters[key] ?? []).isSubset(of: [site])
                && (loyaltyHub == nil
                    || (state.cartHoldersAtQuiescence[key]?.contains(site) == true && holdsCart(site, key, in: state)))
        }.sorted()
        guard let key = candidates.randomElement(using: &rng) else { return nil }
        state.cartDeleting.insert(key)
        state.cartWriters[key, default: []].insert(site)
        return .cartDelete(key: key)
    }

    private func order(site: String, state: inout State, rng: inout SeededGenerator) -> SoakOperation {
        let number = state.sequence["order \(site)", default: 0] + 1
        state.sequence["order \(site)"] = number
        let lineSKUs = skus.shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng))
        let lines = lineSKUs.map { SoakOperation.Line(sku: $0, quantity: Int64.random(in: 1...3, using: &rng)) }
        return .order(
            id: "ord \"\(site)\" #\(number)", customer: "cust-\(Int.random(in: 1...20, using: &rng))",
            placedAt: 1_750_000_000 + Int64.random(in: 0..<1_000_000, using: &rng), lines: lines, location: site)
    }

    /// Usually part of what is left of a line; sometimes one more than is left, which two places
    /// together turn into an over-return.
    private func returnItem(site: String, state: inout State, rng: inout SeededGenerator) -> SoakOperation? {
        let ids = state.orders.keys.sorted()
        // Mostly returns of orders placed elsewhere: bought online, returned in store.
        let elsewhere = ids.filter { state.orders[$0]?.channel != site }
        guard let orderID = (elsewhere.isEmpty || Int.random(in: 0..<10, using: &rng) < 2 ? ids : elsewhere)
            .randomElement(using: &rng), let order = state.orders[orderID]
        else { return nil }
        let lineNo = Int.random(in: 1...order.lines.count, using: &rng)
        let line = order.lines[lineNo - 1]
        let returned = state.returns.values.filter { $0.orderID == orderID && $0.lineNo == lineNo }.reduce(0) { $0 + $1.quantity }
        let left = line.quantity - returned
        let quantity: Int64
        if Int.random(in: 0..<100, using: &rng) < 12 {
            quantity = max(1, left + 1)
        } else if left > 0 {
            quantity = Int64.random(in: 1...min(2, left), using: &rng)
        } else {
            return nil
        }
        let number = state.sequence["return \(site)", default: 0] + 1
        state.sequence["return \(site)"] = number
        return .returnItem(
            id: "ret\\\(site)\\\(number)", orderID: orderID, lineNo: lineNo, sku: line.sku, quantity: quantity,
            location: site, returnedAt: order.placedAt + Int64.random(in: 60...86_400, using: &rng))
    }
}
