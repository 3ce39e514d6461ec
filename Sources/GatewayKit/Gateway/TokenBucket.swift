/// A token bucket: `rate` tokens per second, holding at most `burst`.
///
/// The gateway uses it to pace each connection's samples. It answers how long to wait rather
/// than refusing, because a gateway that stops reading makes TCP slow the sender down, and
/// nothing the agent measured is lost.
struct TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    init(rate: Double, burst: Double, now: ContinuousClock.Instant) {
        precondition(rate > 0 && burst > 0, "limits are validated by the configuration")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now
    }

    /// Takes `count` tokens, going into debt if needed, and returns how long the caller should
    /// wait before taking more (zero when it is within its rate).
    mutating func take(_ count: Int, now: ContinuousClock.Instant) -> Duration {
        let elapsed = (now - updated).inSeconds
        updated = now
        tokens = min(burst, tokens + elapsed * rate) - Double(count)
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }
}
