/// Capped exponential delays between reconnect attempts, in seconds.
public struct Backoff: Sendable, Equatable {
    public let initial: Double
    public let maximum: Double
    public let multiplier: Double

    public init(initial: Double = 0.1, maximum: Double = 10, multiplier: Double = 2) {
        self.initial = max(0, initial)
        self.maximum = max(self.initial, maximum)
        self.multiplier = max(1, multiplier)
    }

    /// The delay before attempt `attempt` (0 for the first retry): `initial × multiplier^attempt`,
    /// never more than `maximum`.
    public func delay(attempt: Int) -> Double {
        var delay = initial
        // Multiply step by step so a huge attempt count cannot overflow into infinity or NaN.
        for _ in 0..<max(0, attempt) {
            delay *= multiplier
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
