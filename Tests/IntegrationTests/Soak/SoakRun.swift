import Foundation
import Postgres
import SyncEngine
import Synchronization
import TestSupport

/// One seeded soak run on fresh site databases (with the application's own declared tables,
/// `SoakDeclared`): seed the stock, then phases of concurrent application work at every site
/// while faults are injected; after each phase heal everything, wait until `omnisync verify`
/// passes, and compare every row of every site with the oracle.
/// Physical counts are made between phases, when every site is caught up. The run ends with the
/// conflicts check. A routed run routes `pos.shelf` by location with a hub (`ShelfRouting`), loyalty
/// and cart items by what the tills follow: every site must then hold exactly the rows routed to
/// it and those it wrote, exactly merged.
final class SoakRun: Sendable {
    struct Outcome: Sendable {
        var attempted = 0
        var committed = 0
        var faults: [SoakFault: Int] = [:]
        /// Conflicts the oracle predicted, and the run found listed.
        var conflicts = 0
        /// Operations on the declared tables, and statements refused as the oracle predicted.
        var declared = 0
        var refused = 0
        var seconds = 0.0
        /// Whether `pos.shelf` was routed by location.
        var routed = false
        /// The report of a failed run: seed, problems, replay log.
        var failure: String?
    }

    let settings: SoakSettings
    let seed: UInt64
    let routing: ShelfRouting?
    let fixture: SyncFixture
    let oracle: SoakOracle
    let daemons: SoakDaemons
    private let gates: [String: SoakGate]
    /// Application sessions: one writer per site, one for held transactions, one for the tills
    /// that hand out a ticket number at once, one for checks.
    private let writers: [String: PostgresSession]
    private let holders: [String: PostgresSession]
    private let tills: [String: PostgresSession]
    private let checkers: [String: PostgresSession]
    private let faults = Mutex<[SoakFault: Int]>([:])
    private let problems = Mutex<[String]>([])
    private let differingRows = Mutex<Set<String>>([])
    private let offlineClusters = Mutex<Set<Int>>([])

    static let quiescenceTimeout = 60.0

    private init(settings: SoakSettings, seed: UInt64, routing: ShelfRouting?, fixture: SyncFixture) {
        self.settings = settings
        self.seed = seed
        self.routing = routing
        self.fixture = fixture
        oracle = SoakOracle(sites: fixture.siteNames, routed: routing != nil)
        oracle.state.withLock { $0.declared.routing = routing }
        daemons = SoakDaemons(fixture: fixture)
        func sessions(_ role: String) -> [String: PostgresSession] {
            Dictionary(
                uniqueKeysWithValues: fixture.siteNames.map {
                    ($0, PostgresSession(conninfo: fixture.conninfo($0), label: "soak/\($0)/\(role)", applicationName: "soak-\(role)"))
                })
        }
        writers = sessions("app")
        holders = sessions("held")
        tills = sessions("till")
        checkers = sessions("check")
        gates = Dictionary(uniqueKeysWithValues: fixture.siteNames.map { ($0, SoakGate()) })
    }

    static func run(settings: SoakSettings, seed: UInt64, index: Int) async throws -> Outcome {
        let started = ContinuousClock.now
        let routing = settings.isRouted(run: index) ? ShelfRouting(sites: settings.siteNames) : nil
        let fixture = try await SyncFixture.make(
            sites: settings.siteNames, pollIntervalMs: 300, tables: SoakDeclared.tables(routed: routing != nil),
            applicationSchema: SoakDeclared.schema, siteKeys: routing?.siteKeys ?? [:])
        let run = SoakRun(settings: settings, seed: seed, routing: routing, fixture: fixture)
        await run.execute()
        var outcome = Outcome()
        (outcome.attempted, outcome.committed) = run.oracle.counts
        outcome.faults = run.faults.withLock { $0 }
        outcome.conflicts = run.oracle.expectedConflicts().count
        let declared = run.oracle.declared
        (outcome.declared, outcome.refused) = (declared.attempted, declared.refused)
        outcome.seconds = (ContinuousClock.now - started).soakSeconds
        outcome.routed = routing != nil
        let problems = run.problems.withLock { $0 } + run.oracle.anomalies
        if !problems.isEmpty {
            outcome.failure = run.report(problems: problems, index: index)
        }
        for session in Array(run.writers.values) + Array(run.holders.values) + Array(run.tills.values) + Array(run.checkers.values) {
            await session.disconnect()
        }
        await fixture.tearDown()
        return outcome
    }

    private func fail(_ problem: String) {
        problems.withLock { $0.append(problem) }
    }

    private var failed: Bool {
        !problems.withLock({ $0 }).isEmpty || !oracle.anomalies.isEmpty
    }

    private func execute() async {
        do {
            try await blocking { [daemons] in try daemons.startPrimary() }
            for (site, operation) in oracle.seedOperations() {
                oracle.record(site: site, operation: operation, outcome: await perform(operation, at: site, on: writers[site]!))
            }
            guard await settle(label: "after seeding") else { return await finish() }
            oracle.quiesced()
            for phase in 0..<settings.phases {
                oracle.note(site: "-", "phase \(phase + 1) begins")
                await runPhase(phase)
                guard !failed, await settle(label: "after phase \(phase + 1)") else { return await finish() }
                oracle.quiesced()
                var rng = SeededGenerator(seed: seed ^ 0xC0_0000 &+ UInt64(phase))
                for (site, operation) in oracle.planCounts(rng: &rng) {
                    oracle.record(site: site, operation: operation, outcome: await perform(operation, at: site, on: writers[site]!))
                }
            }
            guard await settle(label: "after the last counts") else { return await finish() }
            await checkConflicts()
            await checkVerifyCommand()
        } catch {
            fail("soak harness: \(error)")
        }
        await finish()
    }

    private func finish() async {
        do {
            if let problem = try await blocking({ [daemons] in try daemons.stopAll() }) { fail(problem) }
        } catch {
            fail("stopping the daemons: \(error)")
        }
    }

    // MARK: - Phases

    private func runPhase(_ phase: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for (index, site) in fixture.siteNames.enumerated() {
                group.addTask { await self.write(site: site, index: index, phase: phase) }
            }
            group.addTask { await self.injectFaults(phase: phase) }
            group.addTask { await self.duplicateTickets(phase: phase) }
        }
    }

    /// Up to two times a phase, two tills hand out the same ticket number at the same moment
    /// (`pos.ticket` is insert-only): a `duplicate_key` conflict when both commit, a unique
    /// violation at the one that already holds the other's row.
    private func duplicateTickets(phase: Int) async {
        var rng = SeededGenerator(seed: seed ^ 0xD0B1_0000 &+ UInt64(phase))
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            try? await Task.sleep(for: .seconds(Double.random(in: 0...(settings.phaseSeconds / 2), using: &rng)))
            let pair = Array(fixture.siteNames.shuffled(using: &rng).prefix(2))
            let inserts = oracle.planSharedTicket(sites: pair, rng: &rng)
            await withTaskGroup(of: Void.self) { group in
                for (site, operation) in inserts {
                    group.addTask {
                        let gate = self.gates[site]!
                        await gate.enter()
                        let outcome = await self.perform(operation, at: site, on: self.tills[site]!)
                        self.oracle.record(site: site, operation: operation, outcome: outcome)
                        gate.leave()
                    }
                }
            }
        }
    }

    private func write(site: String, index: Int, phase: Int) async {
        var rng = SeededGenerator(seed: seed &+ UInt64(phase + 1) &* 1_000_003 &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        let count = settings.operationsPerSitePhase
        let pause = settings.phaseSeconds / Double(count)
        let gate = gates[site]!
        for _ in 0..<count {
            try? await Task.sleep(for: .seconds(Double.random(in: 0...(2 * pause), using: &rng)))
            await gate.enter()
            let operation = oracle.plan(site: site, rng: &rng)
            oracle.record(site: site, operation: operation, outcome: await perform(operation, at: site, on: writers[site]!))
            gate.leave()
        }
    }

    private func perform(_ operation: SoakOperation, at site: String, on session: PostgresSession) async -> Result<SoakOperation.Result, any Error> {
        do {
            return .success(try await session.withConnection { try operation.execute($0, site: site) })
        } catch {
            return .failure(error)
        }
    }

    /// One to three faults spread over the phase; outages and held transactions run in the
    /// background, so they overlap with the other faults.
    private func injectFaults(phase: Int) async {
        var rng = SeededGenerator(seed: seed ^ 0xFA17_0000 &+ UInt64(phase))
        let count = Int.random(in: 1...3, using: &rng)
        await withTaskGroup(of: Void.self) { background in
            for index in 0..<count {
                try? await Task.sleep(for: .seconds(Double.random(in: 0...(settings.phaseSeconds / Double(count)), using: &rng)))
                let fault = SoakFault.random(using: &rng)
                let site = fixture.siteNames.randomElement(using: &rng)!
                let pause = Double.random(in: 0.2...1.2, using: &rng)
                let kill = Bool.random(using: &rng)
                faults.withLock { $0[fault, default: 0] += 1 }
                do {
                    switch fault {
                    case .killDaemon:
                        oracle.note(site: "fault", "kill -9 of the daemon, restart after \(String(format: "%.1f", pause))s")
                        try await blocking { [daemons] in try daemons.killPrimary() }
                        try await Task.sleep(for: .seconds(pause))
                        try await blocking { [daemons] in try daemons.startPrimary() }
                    case .terminateConnections:
                        let ended = try await checkers[site]!.withConnection { connection in
                            try connection.query(
                                """
                                SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                                WHERE application_name = 'omnisync' AND datname = current_database()
                                """, label: "soak terminate daemon backends"
                            ).rows.first.flatMap { $0[0] } ?? "0"
                        }
                        oracle.note(site: "fault", "pg_terminate_backend of \(ended) daemon connection(s) at \(site)")
                    case .siteOffline:
                        background.addTask { await self.takeOffline(site: site, for: pause) }
                    case .secondDaemon:
                        // A second daemon, or a second and a third: they share the links with the primary.
                        let count = Int.random(in: 1...2, using: &rng)
                        oracle.note(
                            site: "fault",
                            "\(count == 1 ? "second daemon" : "second and third daemons") for \(String(format: "%.1f", pause))s, then \(kill ? "kill -9" : "SIGTERM")")
                        try await blocking { [daemons] in try daemons.startOthers(count) }
                        try await Task.sleep(for: .seconds(pause))
                        if let problem = try await blocking({ [daemons] in try daemons.stopOthers(kill: kill) }) { fail(problem) }
                    case .heldTransaction:
                        let operation = oracle.planHeld(site: site, rng: &rng)
                        background.addTask { await self.hold(operation, at: site) }
                    case .lockedRow:
                        let seconds = pause * 3, offset = Int.random(in: 0..<8, using: &rng)
                        background.addTask { await self.lockRow(at: site, offset: offset, for: seconds) }
                    case .preparedTransaction:
                        let operation = oracle.planPrepared(site: site, name: "soak-\(seed)-\(phase)-\(index)", rng: &rng)
                        background.addTask { await self.hold(operation, at: site) }
                    case .silentSite:
                        background.addTask { await self.silence(site: site, for: pause) }
                    }
                } catch {
                    // A fault aimed at a site that is down at that moment has nothing to break.
                    oracle.note(site: "fault", "\(fault.rawValue) at \(site) not done: \(error)")
                }
            }
        }
    }

    private func hold(_ operation: SoakOperation, at site: String) async {
        let gate = gates[site]!
        await gate.enter()
        oracle.note(site: "fault", "transaction held open at \(site): \(operation)")
        oracle.record(site: site, operation: operation, outcome: await perform(operation, at: site, on: holders[site]!))
        gate.leave()
    }

    /// Locks one stock row of `site` (or, for an odd `offset`, one `pos.shelf` row) in an open
    /// transaction for `seconds`, as a till finishing a payment does, and rolls back: nothing is
    /// written, but the daemon must not wait on it.
    private func lockRow(at site: String, offset: Int, for seconds: Double) async {
        let shelf = offset % 2 == 1
        let query = shelf
            ? "SELECT item || '/' || \"storeId\" || '/' || bin FROM pos.shelf ORDER BY item, \"storeId\", bin OFFSET $1 LIMIT 1 FOR UPDATE"
            : "SELECT sku || '/' || location FROM retail.stock ORDER BY sku, location OFFSET $1 LIMIT 1 FOR UPDATE"
        let session = PostgresSession(conninfo: fixture.conninfo(site), label: "soak/\(site)/lock", applicationName: "soak-lock")
        defer { Task { await session.disconnect() } }
        do {
            let locked = try await session.withConnection { connection -> String? in
                _ = try connection.query("BEGIN", label: "soak lock begin")
                let row = try connection.query(query, [String(shelf ? offset / 2 : offset)], label: "soak lock row")
                    .rows.first?.first ?? nil
                usleep(UInt32(seconds * 1_000_000))
                _ = try connection.query("ROLLBACK", label: "soak lock end")
                return row
            }
            oracle.note(
                site: "fault",
                "\(shelf ? "pos.shelf" : "stock") row \(locked.map { String(reflecting: $0) } ?? "none") locked at \(site) for \(String(format: "%.1f", seconds))s")
        } catch {
            oracle.note(site: "fault", "row lock at \(site) not held: \(error)")
        }
    }

    /// Whether the process `pid` exists and is stopped (state `T` in /proc).
    private static func isStopped(_ pid: String) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: end)...].split(separator: " ").first == "T"
    }

    /// Stops every process of the server of `site` (SIGSTOP) for `seconds`: it accepts connections
    /// and answers nothing, as a hung server or a dead link does; then lets it carry on. The
    /// applications of the sites on that server are paused meanwhile.
    private func silence(site: String, for seconds: Double) async {
        let cluster = fixture.cluster(of: site)
        guard let directory = fixture.clusters.clusterDirectory,
            offlineClusters.withLock({ $0.insert(cluster).inserted })
        else { return }
        defer { offlineClusters.withLock { _ = $0.remove(cluster) } }
        let affected = fixture.siteNames.filter { fixture.cluster(of: $0) == cluster }
        for name in affected { await gates[name]!.close() }
        do {
            let pid = try String(contentsOfFile: "\(directory)/\(cluster)/postmaster.pid", encoding: .utf8)
                .split(separator: "\n").first.map(String.init) ?? ""
            let children = try Subprocess.run("/usr/bin/pgrep", arguments: ["-P", pid], timeout: 10).stdout
                .split(separator: "\n").map(String.init)
            let processes = [pid] + children
            oracle.note(site: "fault", "server of \(affected.joined(separator: ",")) silent for \(String(format: "%.1f", seconds))s")
            let stopped = try? Subprocess.run("/bin/kill", arguments: ["-STOP"] + processes, timeout: 10)
            try? await Task.sleep(for: .seconds(seconds))
            // Whatever happened above, the server must carry on.
            _ = try Subprocess.run("/bin/kill", arguments: ["-CONT"] + processes, timeout: 10)
            // A backend that exited meanwhile (a daemon's session ending) makes kill fail for its
            // pid only: what matters is that none is left stopped.
            let leftStopped = processes.filter(Self.isStopped)
            if stopped == nil || !leftStopped.isEmpty {
                fail("SIGSTOP/SIGCONT of cluster \(cluster) failed (still stopped: \(leftStopped.joined(separator: " ")))")
            }
            oracle.note(site: "fault", "server of \(affected.joined(separator: ",")) answering again")
        } catch {
            fail("silencing cluster \(cluster): \(error)")
        }
        for name in affected { gates[name]!.open() }
    }

    /// Stops the server of `site` (and of any site sharing it) once their applications are idle,
    /// and starts it again after `seconds`.
    private func takeOffline(site: String, for seconds: Double) async {
        let cluster = fixture.cluster(of: site)
        guard offlineClusters.withLock({ $0.insert(cluster).inserted }) else { return }
        defer { offlineClusters.withLock { _ = $0.remove(cluster) } }
        let affected = fixture.siteNames.filter { fixture.cluster(of: $0) == cluster }
        for name in affected { await gates[name]!.close() }
        oracle.note(site: "fault", "server of \(affected.joined(separator: ",")) stopped for \(String(format: "%.1f", seconds))s")
        do {
            try await blocking { [fixture] in try fixture.clusters.stopCluster(cluster) }
            try await Task.sleep(for: .seconds(seconds))
        } catch {
            fail("stopping cluster \(cluster): \(error)")
        }
        do {
            try await blocking { [fixture] in try fixture.clusters.startCluster(cluster) }
        } catch {
            fail("starting cluster \(cluster) again: \(error)")
        }
        for name in affected {
            // Their connections died with the server; the next operation must not be the one to find out.
            await writers[name]!.disconnect()
            await holders[name]!.disconnect()
            await tills[name]!.disconnect()
            await checkers[name]!.disconnect()
            gates[name]!.open()
        }
        oracle.note(site: "fault", "server of \(affected.joined(separator: ",")) back")
    }

    // MARK: - Checks

    /// The sites holding an unfollow whose rows the daemon has not taken away yet.
    private func unfollowsPending() async -> [String] {
        var pending: [String] = []
        for site in fixture.siteNames {
            let count = try? await checkers[site]!.withConnection { connection in
                try connection.query(
                    "SELECT count(*)::text FROM omnisync.follows WHERE unfollowed_at IS NOT NULL", label: "soak unfollows"
                ).rows.first?[0] ?? nil
            }
            if count != "0" { pending.append(site) }
        }
        return pending
    }

    /// Heals, waits until every site has caught up, and compares every site with the oracle.
    private func settle(label: String) async -> Bool {
        if let problem = daemons.primaryProblem() { fail(problem) }
        do {
            if !daemons.isPrimaryRunning { try await blocking { [daemons] in try daemons.startPrimary() } }
        } catch {
            fail("restarting the daemon: \(error)")
            return false
        }
        let deadline = ContinuousClock.now + .seconds(Self.quiescenceTimeout)
        var report = await fixture.verify()
        // Routed: an unfollow is done when its rows are gone from the site and it is forgotten.
        var unfollowing = routing == nil ? [] : await unfollowsPending()
        while !(report.differences.isEmpty && report.unreachable.isEmpty && unfollowing.isEmpty), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(150))
            report = await fixture.verify()
            if routing != nil { unfollowing = await unfollowsPending() }
        }
        if !unfollowing.isEmpty { fail("unfollows not done \(label) within \(Int(Self.quiescenceTimeout))s at \(unfollowing.joined(separator: ", "))") }
        guard report.differences.isEmpty, report.unreachable.isEmpty else {
            fail("no quiescence \(label) within \(Int(Self.quiescenceTimeout))s; omnisync verify says:\n" + report.render())
            noteRows(in: report.differences)
            return false
        }
        oracle.note(site: "-", "quiescent \(label)")
        await compareWithOracle(label: label)
        return !failed
    }

    static let readQueries: [(ReplicatedTable, String)] = [
        (.stock, "SELECT sku, location, on_hand::text, reserved::text FROM retail.stock"),
        (.cartItems, "SELECT cart_id, sku, quantity::text FROM retail.cart_items"),
        (.orders, "SELECT order_id, NULL, customer_id, channel, extract(epoch FROM placed_at)::bigint::text FROM retail.orders"),
        (.orderLines, "SELECT order_id, line_no::text, sku, quantity::text FROM retail.order_lines"),
        (
            .returns,
            "SELECT return_id, NULL, order_id, line_no::text, quantity::text, location, extract(epoch FROM returned_at)::bigint::text FROM retail.returns"
        ),
    ]

    private func compareWithOracle(label: String) async {
        var firstSite = DeclaredRows()
        for site in fixture.siteNames {
            let expected = oracle.expectedRows(at: site)
            let actual: [ReplicatedTable: [RowKey: [String?]]]
            do {
                actual = try await checkers[site]!.withConnection { connection in
                    var tables: [ReplicatedTable: [RowKey: [String?]]] = [:]
                    for (table, query) in SoakRun.readQueries {
                        var rows: [RowKey: [String?]] = [:]
                        for row in try connection.query(query, label: "soak read \(table.name)").rows {
                            rows[RowKey(row[0] ?? "", table.keyColumns.count > 1 ? row[1] : nil)] = Array(row[2...])
                        }
                        tables[table] = rows
                    }
                    return tables
                }
            } catch {
                fail("reading \(site) \(label): \(error)")
                continue
            }
            let balances: [String: String]
            do {
                balances = try await checkers[site]!.withConnection { connection in
                    var rows: [String: String] = [:]
                    for row in try connection.query(
                        "SELECT customer_id, points::text FROM retail.loyalty", label: "soak read loyalty"
                    ).rows {
                        rows[row[0] ?? ""] = row[1] ?? "NULL"
                    }
                    return rows
                }
            } catch {
                fail("reading \(site) loyalty \(label): \(error)")
                continue
            }
            let wanted = oracle.expectedPoints(at: site).mapValues(String.init)
            for customer in Set(wanted.keys).union(balances.keys).sorted() where wanted[customer] != balances[customer] {
                let tag = SoakOperation.loyaltyTag(customer)
                differingRows.withLock { _ = $0.insert(tag) }
                fail("\(label): site=\(site) table=loyalty customer=\(String(reflecting: customer)) "
                    + "expected=\(wanted[customer] ?? "(no row)") actual=\(balances[customer] ?? "(no row)")")
            }
            await compareDeclared(site: site, label: label, firstSite: &firstSite)
            for (table, _) in SoakRun.readQueries {
                let want = expected[table] ?? [:]
                let have = actual[table] ?? [:]
                for key in Set(want.keys).union(have.keys).sorted() where want[key] != have[key] {
                    let tag = SoakOperation.tag(table, key)
                    differingRows.withLock { _ = $0.insert(tag) }
                    fail(
                        "\(label): site=\(site) table=\(table.name) key=\(key.json(for: table)) expected=\(show(want[key])) actual=\(show(have[key]))"
                    )
                }
            }
        }
    }

    /// One site's declared tables: shelves (`qty`, `hi`, `state`, `price`, `note`) and tickets.
    private struct DeclaredRows {
        var shelves: [ShelfKey: [String?]] = [:]
        var tickets: [String: [String?]] = [:]
    }

    /// Compares the declared tables of `site` with the oracle: counters, greatest and status
    /// exactly; the lww price among the values the oracle allows and equal to the first site's;
    /// the local note never another site's; each ticket one of its committed inserts.
    private func compareDeclared(site: String, label: String, firstSite: inout DeclaredRows) async {
        let model = oracle.declared
        let actual: DeclaredRows
        do {
            actual = try await checkers[site]!.withConnection { connection in
                var rows = DeclaredRows()
                for row in try connection.query(SoakDeclared.readShelves, label: "soak read pos.shelf").rows {
                    rows.shelves[ShelfKey(item: row[0] ?? "", storeID: row[1] ?? "", bin: row[2] ?? "")] = Array(row[3...])
                }
                for row in try connection.query(SoakDeclared.readTickets, label: "soak read pos.ticket").rows {
                    rows.tickets[row[0] ?? ""] = Array(row[1...])
                }
                return rows
            }
        } catch {
            fail("reading \(site) declared tables \(label): \(error)")
            return
        }
        let isFirst = site == fixture.siteNames[0]
        if isFirst { firstSite = actual }
        func differs(_ tag: String, _ problem: String) {
            differingRows.withLock { _ = $0.insert(tag) }
            fail("\(label): site=\(site) " + problem)
        }
        // Routed: the shelves routed here and those this site wrote (CONTRACT §8), no others.
        let shelves = model.expectedShelves.filter { model.holds(site, $0.key) }
        for key in Set(shelves.keys).union(actual.shelves.keys).sorted() {
            let have = actual.shelves[key]
            guard let want = shelves[key], let have else {
                differs(
                    key.tag,
                    "table=pos.shelf key=\(key) expected=\(shelves[key].map { show(SoakDeclaredState.values(of: $0)) } ?? "(no row)") "
                        + "actual=\(show(have.map { Array($0.prefix(3)) }))")
                continue
            }
            let values = SoakDeclaredState.values(of: want)
            if Array(have.prefix(3)) != values {
                differs(key.tag, "table=pos.shelf key=\(key) (qty, hi, state) expected=\(show(values)) actual=\(show(Array(have.prefix(3))))")
            }
            let price = have[3]
            if !want.prices.contains(price) {
                differs(
                    key.tag,
                    "table=pos.shelf key=\(key) price=\(show([price])) is not one of the prices of its latest window: "
                        + want.prices.map { show([$0]) }.sorted().joined(separator: " "))
            }
            if !isFirst, let first = firstSite.shelves[key], first[3] != price {
                differs(key.tag, "table=pos.shelf key=\(key) price=\(show([price])) differs from \(fixture.siteNames[0])'s \(show([first[3]]))")
            }
            let notes = (model.notes[site]?[key] ?? []).union([SoakDeclared.noteDefault])
            if !(have[4].map(notes.contains) ?? false) {
                differs(key.tag, "table=pos.shelf key=\(key) local note=\(show([have[4]])) was not written at this site")
            }
        }
        let tickets = model.expectedTickets
        for number in Set(tickets.keys).union(actual.tickets.keys).sorted() {
            let tag = SoakDeclared.ticketTag(number)
            guard let want = tickets[number], let have = actual.tickets[number] else {
                differs(
                    tag,
                    "table=pos.ticket ticket_no=\(String(reflecting: number)) expected=\(tickets[number].map { $0.map(show).sorted().joined(separator: " or ") } ?? "(no row)") "
                        + "actual=\(show(actual.tickets[number]))")
                continue
            }
            if !want.contains(have) {
                differs(tag, "table=pos.ticket ticket_no=\(String(reflecting: number)) expected=\(want.map(show).sorted().joined(separator: " or ")) actual=\(show(have))")
            }
            if !isFirst, let first = firstSite.tickets[number], first != have {
                differs(tag, "table=pos.ticket ticket_no=\(String(reflecting: number)) \(show(have)) differs from \(fixture.siteNames[0])'s \(show(first))")
            }
        }
    }

    private func show(_ values: [String?]?) -> String {
        guard let values else { return "(no row)" }
        return "(" + values.map { $0.map { String(reflecting: $0) } ?? "NULL" }.joined(separator: ", ") + ")"
    }

    private func checkConflicts() async {
        let listing = await ConflictLog(configuration: fixture.configuration).list(includeResolved: true)
        if !listing.unreachable.isEmpty { fail("conflicts: unreachable \(listing.unreachable)") }
        var listed: [String] = []
        for entry in listing.entries {
            if let object = try? JSONSerialization.jsonObject(with: Data(entry.key.utf8)) as? [String: Any],
                let tag = SoakDeclared.tag(table: entry.table, key: object)
            {
                listed.append("\(entry.kind) \(tag)")
                continue
            }
            guard let table = ReplicatedTable.allCases.first(where: { $0.name == entry.table }),
                let object = try? JSONSerialization.jsonObject(with: Data(entry.key.utf8)) as? [String: Any],
                let k1 = object[table.keyColumns[0]] as? String
            else {
                fail("conflict \(entry.id) has an unreadable key: table=\(entry.table) key=\(entry.key)")
                continue
            }
            let k2 = table.keyColumns.count > 1 ? object[table.keyColumns[1]] as? String : nil
            listed.append("\(entry.kind) " + SoakOperation.tag(table, RowKey(k1, k2)))
        }
        let expected = oracle.expectedConflicts()
        let actual = Set(listed)
        for missing in expected.subtracting(actual).sorted() {
            fail("expected conflict not listed: \(missing)")
            noteRow(missing)
        }
        for unexpected in actual.subtracting(expected).sorted() {
            fail("unexpected conflict listed: \(unexpected)")
            noteRow(unexpected)
        }
        if listed.count != actual.count {
            fail("a conflict is listed more than once: \(listed.sorted())")
        }
        for problem in oracle.declared.problems { fail(problem) }
        oracle.note(site: "-", "conflicts listed: \(listed.count) (\(expected.count) expected)")
    }

    /// `omnisync verify` itself, as an operator runs it, once everything is delivered: exit 0.
    private func checkVerifyCommand() async {
        do {
            let result = try await blocking { [fixture] in try SyncFixture.omnisync(["verify", "-c", fixture.configPath]) }
            if result.status != 0 {
                fail("omnisync verify exited \(result.status) at the end of the run:\n\(result.stdout)\(result.stderr)")
            }
        } catch {
            fail("running omnisync verify: \(error)")
        }
    }

    private func noteRow(_ conflict: String) {
        if let space = conflict.firstIndex(of: " ") {
            let tag = String(conflict[conflict.index(after: space)...])
            differingRows.withLock { _ = $0.insert(tag) }
        }
    }

    /// Rows named in verify's differences (`table=T key={...}`), for the replay log.
    private func noteRows(in differences: [String]) {
        for line in differences {
            guard let tableRange = line.range(of: "table="), let keyRange = line.range(of: " key=") else { continue }
            let name = line[tableRange.upperBound..<keyRange.lowerBound]
            let rest = line[keyRange.upperBound...]
            guard let end = rest.range(of: "} ") ?? rest.range(of: "}", options: .backwards) else { continue }
            differingRows.withLock { _ = $0.insert("\(name)|" + rest[..<end.lowerBound] + "}") }
        }
    }

    // MARK: - Report

    private func report(problems: [String], index: Int) -> String {
        var lines = [
            "soak run \(index + 1) FAILED: seed=\(seed) sites=\(settings.sites) routed=\(routing != nil)",
            "replay: \(settings.replayCommand(seed: seed, routed: routing != nil))",
            "problems:",
        ]
        lines += problems.prefix(40).map { "  " + $0 }
        if problems.count > 40 { lines.append("  (\(problems.count - 40) more)") }
        lines.append("replay log (faults, notes, and every operation on the rows above):")
        lines += oracle.replayLog(rows: differingRows.withLock { $0 }).map { "  " + $0 }
        let notable = daemons.notableLines
        if !notable.isEmpty {
            lines.append("daemon warnings and errors (last 40):")
            lines += notable.suffix(40).map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
