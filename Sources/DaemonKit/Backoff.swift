/// Exponential backoff with "equal jitter", capped: the agent's reconnects and remote write's retries.
///
/// Wait number `n` (from 0) is drawn from [d/2, d] with d = min(cap, initial × 2^n): half of it fixed, so
/// a peer is never hammered with near-zero waits, and half random, so that a fleet that failed together
/// (a gateway restart, a receiver outage) does not retry in lock step.
public struct Backoff: Sendable, Equatable {
    /// Seconds of the first wait's ceiling.
    public let initial: Double
    /// Seconds at most of any wait.
    public let cap: Double
    /// Waits taken since the last ``reset()``.
    private var attempt = 0

    /// A cap below `initial` is raised to it; a negative or NaN `initial` is 0.
    public init(initial: Double, cap: Double) {
        self.initial = initial > 0 ? initial : 0
        self.cap = max(self.initial, cap)
    }

    /// The wait, in seconds, before retry number `attempt` (0 for the first); `random` is uniform in 0...1.
    /// Huge attempt counts neither trap nor overflow: the step saturates at the cap.
    public func delay(attempt: Int, random: Double) -> Double {
        let doublings = Double(sign: .plus, exponent: min(max(attempt, 0), 1023), significand: 1)
        let step = min(cap, initial * doublings)
        return step / 2 + step / 2 * min(max(random, 0), 1)
    }

    /// The next wait, counting it. A wait beyond any sensible cap (an infinite one, say) is held at
    /// 10^15 ms, some 31,000 years, rather than trapping in the conversion to `Duration`.
    public mutating func next(random: Double = .random(in: 0...1)) -> Duration {
        let seconds = delay(attempt: attempt, random: random)
        attempt = attempt == .max ? attempt : attempt + 1
        return .milliseconds(Int64(min(seconds * 1000, 1e15)))
    }

    /// Back to the first wait, after a success.
    public mutating func reset() { attempt = 0 }
}
