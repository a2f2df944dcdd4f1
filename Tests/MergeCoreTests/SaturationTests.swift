import MergeCore
import XCTest

/// Sums near the bounds of `Int64` saturate: a corrupt or hostile contribution must never wrap a
/// stock level to the other sign.
final class SaturationTests: XCTestCase {
    func testLocalDeltasSaturate() {
        var row = CounterRow(columns: 1)
        row.applyLocalDelta(site: "web", deltas: [.max - 1])
        row.applyLocalDelta(site: "web", deltas: [5])
        XCTAssertEqual(row.contribution(of: "web"), [.max])
        XCTAssertEqual(row.value(column: 0), .max)
        row.applyLocalDelta(site: "store-1", deltas: [.min])
        row.applyLocalDelta(site: "store-1", deltas: [-1])
        XCTAssertEqual(row.contribution(of: "store-1"), [.min])
    }

    func testValuesOfMergedContributionsSaturate() {
        var high = CounterRow(columns: 1)
        var low = CounterRow(columns: 1)
        high.applyLocalDelta(site: "web", deltas: [.max])
        high.applyLocalDelta(site: "store-1", deltas: [.max])
        low.applyLocalDelta(site: "web", deltas: [.min])
        low.applyLocalDelta(site: "store-1", deltas: [.min])
        XCTAssertEqual(high.value(column: 0), .max)
        XCTAssertEqual(low.value(column: 0), .min)
        var other = CounterRow(columns: 1)
        other.applyLocalDelta(site: "store-2", deltas: [.max])
        XCTAssertEqual(high.merged(with: other).value(column: 0), .max)
    }

    func testResetsSaturate() throws {
        let clock = VectorClock(["web": 1, "store-1": 1])
        let stamp = HybridTimestamp(time: 1, site: "web")
        let rising = CounterReset(stamp: stamp, base: .max, clock: clock, observed: ["web": .min, "store-1": -1])
        XCTAssertEqual(rising.observedTotal, .min)
        let high = try CounterRow(
            columns: 1, clock: clock, contributions: ["web": [.max]], resets: [rising], highWater: 1)
        XCTAssertEqual(high.value(column: 0), .max)
        let falling = CounterReset(stamp: stamp, base: .min, clock: clock, observed: ["web": .max, "store-1": 1])
        let low = try CounterRow(
            columns: 1, clock: clock, contributions: ["web": [.min]], resets: [falling], highWater: 1)
        XCTAssertEqual(low.value(column: 0), .min)
    }

    func testArithmetic() {
        XCTAssertEqual(Int64.max.saturatingAdd(1), .max)
        XCTAssertEqual(Int64.min.saturatingAdd(-1), .min)
        XCTAssertEqual(Int64.min.saturatingSubtract(1), .min)
        XCTAssertEqual(Int64.max.saturatingSubtract(-1), .max)
        XCTAssertEqual(Int64(0).saturatingSubtract(.min), .max)
        XCTAssertEqual(Int64(-3).saturatingAdd(5), 2)
    }

    func testOversellCheckDoesNotWrap() {
        XCTAssertTrue(Invariants.isOversold(onHand: .min, reserved: 1))
        XCTAssertFalse(Invariants.isOversold(onHand: .max, reserved: .min))
        XCTAssertFalse(Invariants.isOversold(onHand: 0, reserved: .min))
    }

    /// Regression: summing contributions and observations separately saturated both, so a count
    /// that reset a row whose contributions exceed Int64 lost its base (max − max = 0).
    func testACountResetsASaturatedRowToItsBase() {
        var web = CounterRow(columns: 1)
        var store = CounterRow(columns: 1)
        web.applyLocalDelta(site: "web", deltas: [9_000_000_000_000_000_000])
        store.applyLocalDelta(site: "store", deltas: [9_000_000_000_000_000_000])
        var merged = web.merged(with: store)
        XCTAssertEqual(merged.value(column: 0), .max)
        merged.applyLocalReset(site: "web", column: 0, value: 40, wallClock: 1)
        XCTAssertEqual(merged.value(column: 0), 40)
        merged.applyLocalDelta(site: "store", deltas: [-1])
        XCTAssertEqual(merged.value(column: 0), 39)
        XCTAssertEqual(merged.merged(with: store).value(column: 0), 39)
    }
}
