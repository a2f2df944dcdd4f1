import Postgres

/// `chain-seed` and `chain`: a routed chain (one hub, many stores, stock routed by location,
/// customers by follow). Rows are named by RowSet: each store sells its own `cs-` rows, the
/// web sells each store's `cw-` rows; customers `chain-cust-N` are created at the web.
enum ChainCommand {
    static let storePrefix = "cs-"
    static let webPrefix = "cw-"

    static func customer(_ index: Int) -> String { "chain-cust-\(index)" }

    /// Store `store` takes the global slots `store`, `store + stores`, …: its rows in turn.
    static func slots(of store: Int, stores: Int, total: Int) -> Int {
        total > store ? (total - store + stores - 1) / stores : 0
    }

    struct Layout {
        let hub: BenchSite
        let stores: [BenchSite]
        let sales: Int
        let webSales: Int
        let follows: Int
        let initial: Int64

        init(_ options: inout BenchArguments) throws(BenchFailure) {
            let hubs = try options.sites("hub")
            guard hubs.count == 1, let hub = hubs.first else { throw .usage("give exactly one --hub NAME=CONNINFO") }
            self.hub = hub
            stores = try options.sites("store")
            sales = try options.int("sales")
            webSales = try options.int("web-sales")
            follows = try options.int("follows", default: 20)
            initial = Int64(try options.int("initial", default: 1_000_000))
            guard !stores.isEmpty else { throw .usage("give at least one --store NAME=CONNINFO") }
            guard follows <= 100_000 else { throw .usage("--follows must be at most 100000") }
        }

        func storeRows(_ store: Int) throws(BenchFailure) -> RowSet {
            try RowSet(
                prefix: ChainCommand.storePrefix, location: stores[store].name,
                count: max(1, ChainCommand.slots(of: 0, stores: stores.count, total: sales)), initial: initial)
        }

        func webRows(_ store: Int) throws(BenchFailure) -> RowSet {
            try RowSet(
                prefix: ChainCommand.webPrefix, location: stores[store].name,
                count: max(1, ChainCommand.slots(of: 0, stores: stores.count, total: webSales)), initial: initial)
        }
    }

    static let countStock = "SELECT count(*)::text FROM retail.stock WHERE sku LIKE 'c_-%'"
    static let countForeign = "SELECT count(*)::text FROM retail.stock WHERE location <> $1"
    static let insertCustomers = """
        INSERT INTO retail.customers (customer_id, name, email)
        SELECT 'chain-cust-' || g, 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(0, $1::int - 1) AS g
        """
    static let insertPoints = """
        INSERT INTO retail.loyalty (customer_id, points) SELECT 'chain-cust-' || g, 100 FROM generate_series(0, $1::int - 1) AS g
        """

    /// Seeds every store's rows at the store and the customers at the web, then waits until the
    /// web holds every store's rows; fails if a store holds another's.
    static func seed(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let layout = try Layout(&options)
        let timeout = try options.double("timeout", default: 600)
        try options.checkAllUsed()
        let started = WallClock.monotonicNanos()
        for (index, store) in layout.stores.enumerated() {
            let connection = try PostgresConnection.connect(
                conninfo: store.conninfo, applicationName: "omnisync-bench", label: "connect \(store.name)")
            defer { connection.close() }
            for rows in [try layout.storeRows(index), try layout.webRows(index)] {
                try connection.query(
                    RowSet.insertRows, [rows.prefix, rows.location, String(rows.initial), String(rows.count)], label: "seed rows")
            }
        }
        let hub = try PostgresConnection.connect(conninfo: layout.hub.conninfo, applicationName: "omnisync-bench", label: "connect hub")
        defer { hub.close() }
        if layout.follows > 0 {
            try hub.query(insertCustomers, [String(layout.follows)], label: "seed customers")
            try hub.query(insertPoints, [String(layout.follows)], label: "seed points")
        }
        let expected = try (0..<layout.stores.count).reduce(0) { $0 + (try layout.storeRows($1).count + layout.webRows($1).count) }
        let deadline = WallClock.monotonicNanos() + Int64(timeout * 1e9)
        while true {
            let count = Int(try hub.query(countStock, label: "count stock").rows.first?[0] ?? "") ?? 0
            if count == expected { break }
            if WallClock.monotonicNanos() > deadline {
                throw BenchFailure(description: "\(layout.hub.name) holds \(count) of the \(expected) seeded rows after \(Int(timeout)) s")
            }
            WallClock.sleep(seconds: 0.1)
        }
        var lines = ResultLines()
        lines.add("seed_rows", expected)
        lines.add("seed_seconds", Double(WallClock.monotonicNanos() - started) / 1e9)
        lines.print()
    }

    /// What one writer thread did.
    struct Work: Sendable {
        var done = 0
        var lateMax: Int64 = 0
        var firstSent = Int64.max
        var lastAcknowledged: Int64 = 0

        mutating func note(due: Int64, sent: Int64) {
            lateMax = max(lateMax, WallClock.monotonicNanos() - due)
            firstSent = min(firstSent, sent)
            done += 1
        }
    }

    /// The steady load: store sales at `--rate` over `--threads` threads (each with its stores'
    /// connections), web sales of every store's stock at `--web-rate`, and `--follows` follows
    /// of the customers spread over the run, store `f mod stores` following customer `f`. Then
    /// waits until every sale is everywhere it is routed and the followed customers are at
    /// their stores, and reports the latencies from commit timestamps.
    static func steady(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let layout = try Layout(&options)
        let rate = try options.double("rate", default: 1000)
        let webRate = try options.double("web-rate", default: 100)
        let threads = max(1, try options.int("threads", default: 4))
        let timeout = try options.double("timeout", default: 300)
        try options.checkAllUsed()
        let stores = layout.stores
        let storeRows = try stores.indices.map { try layout.storeRows($0) }
        let webRows = try stores.indices.map { try layout.webRows($0) }
        let cpuBefore = WallClock.processCPUSeconds()
        let duration = Double(layout.sales) / rate
        let start = WallClock.monotonicNanos() + 100_000_000

        let outcome = try Workers.run(threads + 2) { worker, ready in
            var work = Work()
            if worker < threads {
                // Store sales: slot k is store k mod stores, row k / stores, due at k / rate.
                let mine = stores.indices.filter { $0 % threads == worker }
                var connections: [Int: PostgresConnection] = [:]
                for store in mine {
                    connections[store] = try PostgresConnection.connect(
                        conninfo: stores[store].conninfo, applicationName: "omnisync-bench", label: "connect \(stores[store].name)")
                }
                defer { for connection in connections.values { connection.close() } }
                ready()
                for slot in 0..<layout.sales where (slot % stores.count) % threads == worker {
                    let store = slot % stores.count
                    let due = start + Int64(Double(slot) * 1e9 / rate)
                    WallClock.sleep(untilMonotonicNanos: due)
                    let sent = WallClock.micros()
                    let rows = storeRows[store]
                    let result = try connections[store]!.query(
                        RowSet.decrement, [rows.sku(slot / stores.count), rows.location], label: "store sale")
                    guard result.affectedRows == 1 else { throw BenchFailure(description: "\(stores[store].name): a sold row is missing") }
                    work.note(due: due, sent: sent)
                    work.lastAcknowledged = WallClock.micros()
                }
            } else if worker == threads {
                let web = try PostgresConnection.connect(
                    conninfo: layout.hub.conninfo, applicationName: "omnisync-bench", label: "connect hub")
                defer { web.close() }
                ready()
                for slot in 0..<layout.webSales {
                    let store = slot % stores.count
                    let due = start + Int64(Double(slot) * 1e9 / webRate)
                    WallClock.sleep(untilMonotonicNanos: due)
                    let sent = WallClock.micros()
                    let rows = webRows[store]
                    let result = try web.query(RowSet.decrement, [rows.sku(slot / stores.count), rows.location], label: "web sale")
                    guard result.affectedRows == 1 else { throw BenchFailure(description: "web: a sold row of \(stores[store].name) is missing") }
                    work.note(due: due, sent: sent)
                    work.lastAcknowledged = WallClock.micros()
                }
            } else {
                ready()
                for follow in 0..<layout.follows {
                    let due = start + Int64(Double(follow) * duration * 1e9 / Double(max(1, layout.follows)))
                    WallClock.sleep(untilMonotonicNanos: due)
                    let store = stores[follow % stores.count]
                    let connection = try PostgresConnection.connect(
                        conninfo: store.conninfo, applicationName: "omnisync-bench", label: "connect \(store.name)")
                    defer { connection.close() }
                    try connection.query("SELECT omnisync.follow('customer', $1)", [customer(follow)], label: "follow")
                    work.done += 1
                }
            }
            return work
        }
        let storeWork = outcome.results.prefix(threads)
        let webWork = outcome.results[threads]
        let firstSent = storeWork.map(\.firstSent).min() ?? 0
        let lastAcknowledged = storeWork.map(\.lastAcknowledged).max() ?? 0

        try waitUntilDelivered(layout, storeRows: storeRows, webRows: webRows, timeout: timeout)

        // Commit times, read where each row was written and where it was delivered.
        let times = """
            SELECT location, sku, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint::text
            FROM retail.stock WHERE sku LIKE $1 || '%' AND ($2::text IS NULL OR location = $2) AND on_hand < $3::bigint
            """
        func commitTimes(_ connection: PostgresConnection, prefix: String, location: String?) throws -> [String: Int64] {
            var found: [String: Int64] = [:]
            let result = try connection.query(times, [prefix, location, String(layout.initial)], label: "read commit times")
            for row in result.rows {
                guard let location = row[0], let sku = row[1], let micros = row[2].flatMap({ Int64($0) }) else {
                    throw BenchFailure(description: "no commit timestamp; is track_commit_timestamp on?")
                }
                found[location + "/" + sku] = micros
            }
            return found
        }
        let hub = try PostgresConnection.connect(conninfo: layout.hub.conninfo, applicationName: "omnisync-bench", label: "connect hub")
        defer { hub.close() }
        let atWebOfStores = try commitTimes(hub, prefix: storePrefix, location: nil)
        let soldAtWeb = try commitTimes(hub, prefix: webPrefix, location: nil)
        var storeToWeb: [Int64] = []
        var webToStore: [Int64] = []
        var followToPresent: [Int64] = []
        var foreign = 0
        let followTimes = """
            SELECT (extract(epoch FROM pg_xact_commit_timestamp(f.xmin)) * 1000000)::bigint::text,
                   (SELECT (extract(epoch FROM pg_xact_commit_timestamp(c.xmin)) * 1000000)::bigint::text
                    FROM retail.customers c WHERE c.customer_id = f.value),
                   (SELECT (extract(epoch FROM pg_xact_commit_timestamp(l.xmin)) * 1000000)::bigint::text
                    FROM retail.loyalty l WHERE l.customer_id = f.value)
            FROM omnisync.follows f WHERE f.namespace = 'customer' AND f.value LIKE 'chain-cust-%'
            """
        for store in stores {
            let connection = try PostgresConnection.connect(
                conninfo: store.conninfo, applicationName: "omnisync-bench", label: "connect \(store.name)")
            defer { connection.close() }
            for (key, sold) in try commitTimes(connection, prefix: storePrefix, location: store.name) {
                guard let arrived = atWebOfStores[key] else { throw BenchFailure(description: "web lacks \(key)") }
                storeToWeb.append(arrived - sold)
            }
            for (key, arrived) in try commitTimes(connection, prefix: webPrefix, location: store.name) {
                guard let sold = soldAtWeb[key] else { throw BenchFailure(description: "\(store.name) holds \(key), sold at the web only") }
                webToStore.append(arrived - sold)
            }
            for row in try connection.query(followTimes, label: "read follow times").rows {
                guard let followed = row[0].flatMap({ Int64($0) }), let profile = row[1].flatMap({ Int64($0) }),
                    let points = row[2].flatMap({ Int64($0) })
                else { throw BenchFailure(description: "\(store.name): a followed customer is not there") }
                followToPresent.append(max(profile, points) - followed)
            }
            foreign += Int(try connection.query(countForeign, [store.name], label: "count foreign stock").rows.first?[0] ?? "") ?? 0
        }
        guard foreign == 0 else { throw BenchFailure(description: "the stores hold \(foreign) stock rows of other locations") }
        if let early = (storeToWeb + webToStore).first(where: { $0 < 0 }) {
            throw BenchFailure(description: "a row was committed at its target \(-early) µs before its source committed it")
        }
        var lines = ResultLines()
        lines.add("stores", stores.count)
        lines.add("sales", storeToWeb.count)
        lines.add("web_sales", webToStore.count)
        lines.add("follows", followToPresent.count)
        lines.add("rate_achieved", Double(storeToWeb.count) / (Double(lastAcknowledged - firstSent) / 1e6), decimals: 1)
        lines.add("schedule_late_max_ms", Double(storeWork.map(\.lateMax).max() ?? 0) / 1e6)
        lines.add("web_schedule_late_max_ms", Double(webWork.lateMax) / 1e6)
        lines.addLatency("store_to_web", Distribution(storeToWeb))
        lines.addLatency("web_to_store", Distribution(webToStore))
        lines.addLatency("follow_to_present", Distribution(followToPresent))
        lines.add("foreign_stock_rows", foreign)
        lines.add("harness_cpu_s", WallClock.processCPUSeconds() - cpuBefore)
        lines.print()
    }

    /// Until the web holds every store sale, every store its web sales, and every following
    /// store its customer's profile and points.
    private static func waitUntilDelivered(
        _ layout: Layout, storeRows: [RowSet], webRows: [RowSet], timeout: Double
    ) throws {
        let stores = layout.stores
        let deadline = WallClock.monotonicNanos() + Int64(timeout * 1e9)
        let sold = "SELECT count(*)::text FROM retail.stock WHERE sku LIKE $1 || '%' AND ($2::text IS NULL OR location = $2) AND on_hand = $3::bigint - 1"
        let present = """
            SELECT count(*)::text FROM omnisync.follows f
            WHERE f.namespace = 'customer' AND f.value LIKE 'chain-cust-%'
              AND EXISTS (SELECT FROM retail.customers c WHERE c.customer_id = f.value)
              AND EXISTS (SELECT FROM retail.loyalty l WHERE l.customer_id = f.value)
            """
        // Per site: its connection and what it must hold.
        var pending: [(site: BenchSite, check: (PostgresConnection) throws -> Bool)] = []
        pending.append((layout.hub, { connection in
            let count = Int(try connection.query(sold, [storePrefix, nil, String(layout.initial)], label: "count sold").rows.first?[0] ?? "")
            return count == layout.sales
        }))
        for (index, store) in stores.enumerated() {
            let webSold = slots(of: index, stores: stores.count, total: layout.webSales)
            let followed = slots(of: index, stores: stores.count, total: layout.follows)
            pending.append((store, { connection in
                let count = Int(try connection.query(sold, [webPrefix, store.name, String(layout.initial)], label: "count sold").rows.first?[0] ?? "")
                guard count == webSold else { return false }
                return Int(try connection.query(present, label: "count followed").rows.first?[0] ?? "") == followed
            }))
        }
        var connections: [String: PostgresConnection] = [:]
        defer { for connection in connections.values { connection.close() } }
        while !pending.isEmpty {
            var behind: [(site: BenchSite, check: (PostgresConnection) throws -> Bool)] = []
            for entry in pending {
                let connection: PostgresConnection
                if let open = connections[entry.site.name] {
                    connection = open
                } else {
                    connection = try PostgresConnection.connect(
                        conninfo: entry.site.conninfo, applicationName: "omnisync-bench", label: "connect \(entry.site.name)")
                    connections[entry.site.name] = connection
                }
                if try !entry.check(connection) { behind.append(entry) }
            }
            pending = behind
            if pending.isEmpty { break }
            if WallClock.monotonicNanos() > deadline {
                throw BenchFailure(
                    description: "not delivered after \(Int(timeout)) s at " + pending.map(\.site.name).prefix(10).joined(separator: ", "))
            }
            WallClock.sleep(seconds: 0.05)
        }
    }
}
