import TestSupport
import XCTest

final class SeededGeneratorTests: XCTestCase {
    /// Values of the reference xoshiro256** with its state filled by SplitMix64 from the seed.
    func testMatchesTheReferenceAlgorithm() {
        var zero = SeededGenerator(seed: 0)
        XCTAssertEqual(
            [zero.next(), zero.next(), zero.next()],
            [11_091_344_671_253_066_420, 13_793_997_310_169_335_082, 1_900_383_378_846_508_768])
        var answer = SeededGenerator(seed: 42)
        XCTAssertEqual(
            [answer.next(), answer.next(), answer.next()],
            [1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009])
    }

    func testSameSeedSameChoices() {
        var a = SeededGenerator(seed: 7)
        var b = SeededGenerator(seed: 7)
        let first = (0..<20).map { _ in Int.random(in: 0..<1000, using: &a) }
        XCTAssertEqual(first, (0..<20).map { _ in Int.random(in: 0..<1000, using: &b) })
        XCTAssertEqual(a.description, "seed=7")
    }

    func testSeedFromTheEnvironment() throws {
        func seed(_ value: String?) throws -> UInt64 {
            try SeededGenerator.seedFromEnvironment(default: 5, environment: value.map { ["OMNISYNC_SEED": $0] } ?? [:])
        }
        XCTAssertEqual(try seed(nil), 5)
        XCTAssertEqual(try seed("123"), 123)
        XCTAssertEqual(try seed("0xff"), 255)
        XCTAssertNoThrow(try seed("random"))
        XCTAssertThrowsError(try seed("12a"))
    }

    func testIterationsFromTheEnvironment() throws {
        func iterations(_ value: String?) throws -> Int {
            try SeededGenerator.iterationsFromEnvironment(
                default: 9, environment: value.map { ["OMNISYNC_ITERATIONS": $0] } ?? [:])
        }
        XCTAssertEqual(try iterations(nil), 9)
        XCTAssertEqual(try iterations("3"), 3)
        XCTAssertThrowsError(try iterations("0"))
        XCTAssertThrowsError(try iterations("many"))
    }

    func testIterationSeedsReplayOneIterationEach() throws {
        let seeds = try SeededGenerator.iterationSeeds(
            defaultSeed: 1, defaultIterations: 9, environment: ["OMNISYNC_SEED": "40", "OMNISYNC_ITERATIONS": "3"])
        XCTAssertEqual(seeds, [40, 41, 42])
    }
}
