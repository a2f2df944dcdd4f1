import MergeCore
import TestSupport
import XCTest

final class ImmutableRecordTests: XCTestCase {
    /// Contents two sites might give one order id: mostly the same, sometimes not, with NULLs.
    private static let contents: [[String?]] = [
        ["c-1", "web", "2024-05-01 10:00:00+00"],
        ["c-1", "web", "2024-05-01 10:00:00+00"],
        ["c-1", "store", "2024-05-01 10:00:00+00"],
        ["c-2", "web", nil],
        [nil, "web", nil],
    ]

    /// Versions of one key as sites create them: at most one per site, wall times close enough to tie.
    private func versions(using rng: inout SeededGenerator) -> [ImmutableRecord] {
        let sites = CounterSimulation.sitePool.shuffled(using: &rng).prefix(Int.random(in: 1...4, using: &rng))
        return sites.map { site in
            ImmutableRecord(
                fields: Self.contents[Int.random(in: Self.contents.indices, using: &rng)],
                stamp: HybridTimestamp(time: Int64.random(in: 0...3, using: &rng), site: site))
        }
    }

    func testMergeIsAJoinAndConflictsAreSymmetric() throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x0123_CD, defaultIterations: 300) {
            var rng = SeededGenerator(seed: seed)
            let versions = versions(using: &rng)
            var holds = true
            for _ in 0..<10 where holds {
                let a = versions[Int.random(in: versions.indices, using: &rng)]
                let b = versions[Int.random(in: versions.indices, using: &rng)]
                let c = versions[Int.random(in: versions.indices, using: &rng)]
                let forward = a.merging(b)
                let backward = b.merging(a)
                let context = "\(rng): a=\(a) b=\(b)"
                holds =
                    check(forward.record == backward.record, "commutativity, \(context)")
                    && check(
                        forward.record.merged(with: c) == a.merged(with: b.merged(with: c)),
                        "associativity, \(context) c=\(c)")
                    && check(a.merged(with: a) == a && a.merging(a).conflict == nil, "idempotence, \(context)")
                    && check(forward.record.stamp == max(a.stamp, b.stamp), "the later stamp must win, \(context)")
                    && check(forward.conflict == backward.conflict, "the conflict depends on who merges, \(context)")
                    && check(
                        (forward.conflict != nil) == (a.fields != b.fields), "conflict iff contents differ, \(context)")
            }
            if !holds { break }
        }
    }

    func testDuplicateWithDifferentContentIsAConflictWithTheSameWinnerEitherWay() {
        let web = ImmutableRecord(fields: ["c-1", "web"], stamp: HybridTimestamp(time: 100, site: "web"))
        let store = ImmutableRecord(fields: ["c-1", "store"], stamp: HybridTimestamp(time: 100, site: "store-1"))
        let atWeb = web.merging(store)
        let atStore = store.merging(web)
        XCTAssertEqual(atWeb.record, web, "equal times: the greater site name wins")
        XCTAssertEqual(atStore.record, web)
        XCTAssertEqual(atWeb.conflict?.winner, web)
        XCTAssertEqual(atWeb.conflict?.loser, store)
        XCTAssertEqual(atStore.conflict, atWeb.conflict)
    }

    func testDuplicateWithIdenticalContentIsNoConflict() {
        let web = ImmutableRecord(fields: ["c-1", nil], stamp: HybridTimestamp(time: 100, site: "web"))
        let store = ImmutableRecord(fields: ["c-1", nil], stamp: HybridTimestamp(time: 200, site: "store-1"))
        XCTAssertNil(web.merging(store).conflict)
        XCTAssertNil(store.merging(web).conflict)
        XCTAssertEqual(web.merged(with: store), store)
    }

    func testEqualStampsFallBackToContent() {
        // Only corrupt input gives one site two versions with one stamp; the choice still must not
        // depend on who merges.
        let stamp = HybridTimestamp(time: 1, site: "web")
        let withNull = ImmutableRecord(fields: [nil, "x"], stamp: stamp)
        let withText = ImmutableRecord(fields: ["", "x"], stamp: stamp)
        XCTAssertEqual(withNull.merged(with: withText), withText)
        XCTAssertEqual(withText.merged(with: withNull), withText)
    }
}
