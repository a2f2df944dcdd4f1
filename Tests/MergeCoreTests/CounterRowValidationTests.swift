import MergeCore
import XCTest

/// `CounterRow(columns:clock:contributions:resets:highWater:)` reads states from storage, where
/// they may be corrupt or hostile: it must reject what the merge cannot make sense of.
final class CounterRowValidationTests: XCTestCase {
    private let webClock = VectorClock(["web": 2])
    private let reset = CounterReset(
        stamp: HybridTimestamp(time: 10, site: "web"), base: 4, clock: VectorClock(["web": 2]), observed: ["web": 3])

    private func read(
        columns: Int = 1, clock: VectorClock, contributions: [SiteName: [Int64]] = [:], resets: [CounterReset?],
        highWater: Int64 = 10, resetRule: ResetRule = .latestWins
    ) throws(MergeCoreError) -> CounterRow {
        try CounterRow(
            columns: columns, clock: clock, contributions: contributions, resets: resets, highWater: highWater,
            resetRule: resetRule)
    }

    private func assertMalformed(
        _ build: @autoclosure () throws(MergeCoreError) -> CounterRow, _ reason: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let row = try build()
            XCTFail("accepted \(row); expected: \(reason)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.hasPrefix("malformed state: "), error.description, file: file, line: line)
        }
    }

    func testRejectsWrongArity() {
        assertMalformed(try read(columns: 2, clock: webClock, resets: [nil]), "one reset slot for two columns")
        assertMalformed(try read(columns: 0, clock: webClock, resets: []), "no columns")
        assertMalformed(
            try read(columns: 2, clock: webClock, contributions: ["web": [1]], resets: [nil, nil]),
            "a contribution with one value for two columns")
    }

    func testRejectsAContributionWithoutAClockEntry() {
        assertMalformed(
            try read(clock: webClock, contributions: ["store-1": [5]], resets: [nil]),
            "store-1 contributes without having written")
    }

    func testAcceptsAndDropsAZeroContributionWithoutAClockEntry() throws {
        let row = try read(clock: webClock, contributions: ["web": [2], "store-1": [0]], resets: [nil])
        XCTAssertEqual(row.contributions, ["web": [2]])
    }

    func testRejectsAResetThatSawMoreThanTheRow() {
        assertMalformed(
            try read(clock: VectorClock(["web": 1]), resets: [reset]), "the reset's clock is beyond the row's")
        let sawStore = CounterReset(
            stamp: reset.stamp, base: 0, clock: VectorClock(["web": 1, "store-1": 1]), observed: [:])
        assertMalformed(
            try read(clock: VectorClock(["web": 5]), resets: [sawStore]), "the reset saw a site the row has not")
    }

    /// Regression: a high-water mark behind a reset's stamp was accepted; the next count at a site
    /// whose wall clock lags was then stamped before the count it had seen, and lost to it.
    func testRejectsAResetStampedPastTheHighWaterMark() {
        assertMalformed(
            try read(clock: webClock, resets: [reset], highWater: 9),
            "the reset's stamp (10) is past the high-water mark")
    }

    func testRoundTripsAStateMadeByLocalChanges() throws {
        var row = CounterRow(columns: 2)
        row.applyLocalDelta(site: "web", deltas: [5, 1])
        row.applyLocalReset(site: "store-1", column: 0, value: 3, wallClock: 42)
        row.applyLocalDelta(site: "store-1", deltas: [-1, 0])
        let stored = try read(
            columns: row.columnCount, clock: row.clock, contributions: row.contributions, resets: row.resets,
            highWater: row.highWater)
        XCTAssertEqual(stored, row)
        XCTAssertEqual(stored.values, [2, 1])
    }

    /// Concurrent deletes joined under `.joined` are still one reset (a stamp, a base, a clock and
    /// observations), so they fit the stored format unchanged.
    func testRoundTripsJoinedDeletes() throws {
        var web = CounterRow(columns: 1, resetRule: .joined)
        var store = web
        web.applyLocalDelta(site: "web", deltas: [2])
        store.applyLocalDelta(site: "store-1", deltas: [1])
        web.applyLocalReset(site: "web", column: 0, value: 0, wallClock: 100)
        store.applyLocalReset(site: "store-1", column: 0, value: 0, wallClock: 90)
        let merged = web.merged(with: store)
        let stored = try read(
            clock: merged.clock, contributions: merged.contributions, resets: merged.resets,
            highWater: merged.highWater, resetRule: .joined)
        XCTAssertEqual(stored, merged)
        XCTAssertEqual(stored.resets[0]?.observed, ["web": 2, "store-1": 1])
        let underTheOtherRule = try read(
            clock: merged.clock, contributions: merged.contributions, resets: merged.resets,
            highWater: merged.highWater)
        XCTAssertNotEqual(underTheOtherRule, merged, "the reset rule is part of the state")
    }
}
