import MergeCore
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// The capture triggers (plpgsql, in the site's own transaction) and MergeCore's local updates
/// (Swift, what the daemon and the simulations reason with) are two implementations of each
/// rule's local half. Here seeded random writes go through both — through the real triggers of a
/// migrated site, and through `CounterRow`'s local updates from the state the site held just
/// before — and the states must be identical, write by write: the clock, every contribution, the
/// reset with what it had seen, the high-water mark, and the visible value.
///
/// Two sites exchange their rows now and then, so the states hold other sites' contributions and
/// resets too. A failure prints the seed (`OMNISYNC_SEED=… OMNISYNC_ITERATIONS=1` replays it).
final class CaptureConformanceTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a"])
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testStockTriggerAndSwiftCounterAgreeOnEveryWrite() async throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x57_0C4C, defaultIterations: 3) {
            var rng = SeededGenerator(seed: seed)
            for step in 0..<60 {
                let site = ["web", "store-a"].randomElement(using: &rng)!
                let sku = ["S-1", "S-2"].randomElement(using: &rng)!
                let before = try await stockState(site, sku)
                var expected = before ?? CounterRow(columns: 2, resetRule: .latestWins)
                let context = "\(rng) step \(step) at \(site) \(sku)"
                switch Int.random(in: 0..<100, using: &rng) {
                case ..<15:
                    await fixture.syncOnce()
                    continue
                case ..<30:
                    let counted = Int64.random(in: 0...40, using: &rng)
                    try await fixture.sql(site, "SELECT retail.record_count($1, 'loc', $2)", [sku, String(counted)])
                    let stored = try await stockState(site, sku)
                    let after = try XCTUnwrap(stored, context)
                    let stamp = try XCTUnwrap(after.resets[0]?.stamp.time, context)
                    // The trigger's wall clock is its own; the bump past the high-water mark is the rule.
                    XCTAssertGreaterThan(stamp, expected.highWater, "count not stamped past the high-water mark, \(context)")
                    expected.applyLocalReset(site: site, column: 0, value: counted, wallClock: stamp)
                default:
                    let d1 = Int64.random(in: -3...5, using: &rng) * (Bool.random(using: &rng) ? 1 : 0)
                    let d2 = Int64.random(in: -1...2, using: &rng) * (Int.random(in: 0..<3, using: &rng) == 0 ? 1 : 0)
                    let isInsert = try await fixture.value(
                        site, "SELECT count(*) FROM retail.stock WHERE sku = $1 AND location = 'loc'", [sku]) == "0"
                    if isInsert {
                        try await fixture.sql(
                            site, "INSERT INTO retail.stock VALUES ($1, 'loc', $2, $3)", [sku, String(d1), String(d2)])
                    } else {
                        try await fixture.sql(
                            site,
                            "UPDATE retail.stock SET on_hand = on_hand + $2, reserved = reserved + $3 WHERE sku = $1 AND location = 'loc'",
                            [sku, String(d1), String(d2)])
                    }
                    _ = expected.applyLocalWrite(site: site, deltas: [d1, d2], isInsert: isInsert)
                }
                let after = try await stockState(site, sku)
                guard check(after == expected, "trigger and Swift differ, \(context):\n sql   \(String(describing: after))\n swift \(expected)")
                else { return }
                let visible = try await fixture.value(
                    site, "SELECT on_hand || '/' || reserved FROM retail.stock WHERE sku = $1 AND location = 'loc'", [sku])
                guard check(visible == "\(expected.value(column: 0))/\(expected.value(column: 1))", "visible value, \(context)")
                else { return }
            }
        }
    }

    func testCartTriggerAndSwiftCounterAgreeOnEveryWrite() async throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0xCA_27C4, defaultIterations: 3) {
            var rng = SeededGenerator(seed: seed)
            for step in 0..<60 {
                let site = ["web", "store-a"].randomElement(using: &rng)!
                let sku = ["S-1", "S-2"].randomElement(using: &rng)!
                var expected = try await cartState(site, sku) ?? CounterRow(columns: 1, resetRule: .joined)
                let context = "\(rng) step \(step) at \(site) \(sku)"
                let exists = try await fixture.value(
                    site, "SELECT count(*) FROM retail.cart_items WHERE cart_id = 'C' AND sku = $1", [sku]) == "1"
                switch Int.random(in: 0..<100, using: &rng) {
                case ..<15:
                    await fixture.syncOnce()
                    continue
                case ..<35 where exists:
                    try await fixture.sql(site, "DELETE FROM retail.cart_items WHERE cart_id = 'C' AND sku = $1", [sku])
                    let deleted = try await cartState(site, sku)
                    let after = try XCTUnwrap(deleted, context)
                    let stamp = try XCTUnwrap(after.resets[0]?.stamp.time, context)
                    XCTAssertGreaterThan(stamp, expected.highWater, "delete not stamped past the high-water mark, \(context)")
                    expected.applyLocalReset(site: site, column: 0, value: 0, wallClock: stamp)
                default:
                    let delta = Int64.random(in: -2...4, using: &rng)
                    if exists {
                        try await fixture.sql(
                            site, "UPDATE retail.cart_items SET quantity = quantity + $2 WHERE cart_id = 'C' AND sku = $1",
                            [sku, String(delta)])
                    } else {
                        try await fixture.sql(site, "INSERT INTO retail.cart_items VALUES ('C', $1, $2)", [sku, String(delta)])
                    }
                    _ = expected.applyLocalWrite(site: site, deltas: [delta], isInsert: !exists)
                }
                let after = try await cartState(site, sku)
                guard check(after == expected, "trigger and Swift differ, \(context):\n sql   \(String(describing: after))\n swift \(expected)")
                else { return }
                let visible = try await fixture.value(
                    site, "SELECT quantity FROM retail.cart_items WHERE cart_id = 'C' AND sku = $1", [sku])
                let shown = expected.isPresent(resetColumn: 0) ? String(expected.value(column: 0)) : nil
                guard check(visible == shown, "visible quantity \(visible ?? "none"), Swift \(shown ?? "none"), \(context)")
                else { return }
            }
        }
    }

    /// A counterexample the conformance harness stands for: a count takes a huge contribution back
    /// to a small value, and the next large sale would push the site's cumulative contribution past
    /// the bigint range. The trigger refuses the write; Swift used to saturate and so reasoned about
    /// a state no site can hold.
    func testAContributionBeyondBigintIsRefusedByTriggerAndSwiftAlike() async throws {
        let big = Int64(9_000_000_000_000_000_000)
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('S-9', 'loc', $1, 0)", [String(big)])
        try await fixture.sql("web", "SELECT retail.record_count('S-9', 'loc', 0)")
        let counted = try await stockState("web", "S-9")
        var expected = try XCTUnwrap(counted)
        do {
            try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand + $1 WHERE sku = 'S-9'", [String(big)])
            XCTFail("the trigger accepted a contribution beyond bigint")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "22003", "\(error)")
        }
        guard case .refused = expected.applyLocalWrite(site: "web", deltas: [big, 0], isInsert: false) else {
            return XCTFail("Swift accepted a contribution beyond Int64")
        }
        let unchanged = try await stockState("web", "S-9")
        XCTAssertEqual(unchanged, expected)
        XCTAssertEqual(expected.value(column: 0), 0)
    }

    /// `XCTAssert` that answers whether it held, to stop a randomized run at its first counterexample.
    private func check(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) -> Bool {
        if !condition { XCTFail(message(), line: line) }
        return condition
    }

    // MARK: - Reading states as stored

    private func stockState(_ site: String, _ sku: String) async throws -> CounterRow? {
        try await counterState(
            site, table: "omnisync.stock_state", keyMatch: "sku = $1 AND location = 'loc'", key: sku,
            contributions: ["on_hand_contrib", "reserved_contrib"], reset: "count", hasBase: true, rule: .latestWins)
    }

    private func cartState(_ site: String, _ sku: String) async throws -> CounterRow? {
        try await counterState(
            site, table: "omnisync.cart_state", keyMatch: "cart_id = 'C' AND sku = $1", key: sku,
            contributions: ["quantity_contrib"], reset: "delete", hasBase: false, rule: .joined)
    }

    private func counterState(
        _ site: String, table: String, keyMatch: String, key: String, contributions: [String], reset: String,
        hasBase: Bool, rule: ResetRule
    ) async throws -> CounterRow? {
        let base = hasBase ? "\(reset)_base::text" : "NULL"
        let columns = (["sites", "versions"] + contributions).map { "array_to_string(\($0), ',')" }
            + ["max_hlc::text", "\(reset)_hlc::text", "\(reset)_site", base]
            + ["sites", "versions", "observed"].map { "array_to_string(\(reset)_\($0), ',')" }
        let rows = try await fixture.sql(site, "SELECT \(columns.joined(separator: ", ")) FROM \(table) WHERE \(keyMatch)", [key])
        guard let row = rows.first else { return nil }
        func list(_ index: Int) -> [String] {
            (row[index] ?? "").split(separator: ",").map(String.init)
        }
        func numbers(_ index: Int) -> [Int64] { list(index).map { Int64($0)! } }
        let sites = list(0)
        let versions = numbers(1)
        let amounts = contributions.indices.map { numbers(2 + $0) }
        var perSite: [SiteName: [Int64]] = [:]
        for (index, name) in sites.enumerated() { perSite[name] = amounts.map { $0[index] } }
        let clock = VectorClock(Dictionary(uniqueKeysWithValues: zip(sites, versions)))
        let next = 2 + contributions.count
        var resets = [CounterReset?](repeating: nil, count: contributions.count)
        if let stamp = row[next + 1].flatMap({ Int64($0) }), let resetSite = row[next + 2] {
            let resetSites = list(next + 4)
            resets[0] = CounterReset(
                stamp: HybridTimestamp(time: stamp, site: resetSite), base: row[next + 3].flatMap { Int64($0) } ?? 0,
                clock: VectorClock(Dictionary(uniqueKeysWithValues: zip(resetSites, numbers(next + 5)))),
                observed: Dictionary(uniqueKeysWithValues: zip(resetSites, numbers(next + 6))))
        }
        return try CounterRow(
            columns: contributions.count, clock: clock, contributions: perSite, resets: resets,
            highWater: Int64(row[next] ?? "0") ?? 0, resetRule: rule)
    }
}
