import Foundation

/// A deterministic random number generator for simulations and property tests: xoshiro256**
/// seeded through SplitMix64. The standard library's generator can be neither seeded nor replayed,
/// and a failure that cannot be replayed cannot be fixed.
///
/// Every failure message of a randomized test carries `description` (`seed=…`); running the test
/// again with `OMNISYNC_SEED=<that seed> OMNISYNC_ITERATIONS=1` replays exactly the failing case.
public struct SeededGenerator: RandomNumberGenerator, Sendable, CustomStringConvertible {
    /// Why an `OMNISYNC_*` variable could not be used; a typo must not silently test something else.
    public struct EnvironmentError: Error, Sendable, CustomStringConvertible {
        public let variable: String
        public let value: String

        public var description: String { "\(variable)=\(value) is not valid" }
    }

    /// The seed this generator started from.
    public let seed: UInt64
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        self.seed = seed
        // SplitMix64 spreads any seed, including 0 and neighbouring seeds, over the whole state;
        // xoshiro must never start from an all-zero state, which SplitMix64 cannot produce four times.
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, by: 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, by: 45)
        return result
    }

    public var description: String { "seed=\(seed)" }

    private func rotateLeft(_ value: UInt64, by amount: UInt64) -> UInt64 {
        (value << amount) | (value >> (64 - amount))
    }

    // MARK: - Environment

    /// `OMNISYNC_SEED` (decimal, `0x` hexadecimal, or `random` for a fresh seed), else `defaultSeed`.
    public static func seedFromEnvironment(
        default defaultSeed: UInt64,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(EnvironmentError) -> UInt64 {
        guard let text = environment["OMNISYNC_SEED"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
            return defaultSeed
        }
        if text == "random" { return UInt64.random(in: .min ... .max) }
        let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        guard let parsed else { throw EnvironmentError(variable: "OMNISYNC_SEED", value: text) }
        return parsed
    }

    /// `OMNISYNC_ITERATIONS` (a positive integer), else `defaultCount`.
    public static func iterationsFromEnvironment(
        default defaultCount: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(EnvironmentError) -> Int {
        guard let text = environment["OMNISYNC_ITERATIONS"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty
        else {
            return defaultCount
        }
        guard let count = Int(text), count > 0 else {
            throw EnvironmentError(variable: "OMNISYNC_ITERATIONS", value: text)
        }
        return count
    }

    /// One seed per iteration: the base seed from the environment, then its successors, so that
    /// the seed printed by a failing iteration replays that iteration alone.
    public static func iterationSeeds(
        defaultSeed: UInt64,
        defaultIterations: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(EnvironmentError) -> [UInt64] {
        let base = try seedFromEnvironment(default: defaultSeed, environment: environment)
        let count = try iterationsFromEnvironment(default: defaultIterations, environment: environment)
        return (0..<count).map { base &+ UInt64($0) }
    }
}
