import MonitorConfig

/// What to do after one attempt to deliver a batch, and how long to wait before the next.
///
/// Follows what every remote-write receiver documents: 2xx is stored; 429 (rate limited) and 5xx
/// (overloaded, restarting) are worth retrying; any other 4xx means the receiver will never accept this
/// body (bad labels, out-of-order samples, too large), so retrying would only stall every later sample.
struct RetryPolicy: Sendable, Equatable {
    enum Outcome: Sendable, Equatable {
        case delivered
        case retry(String)
        case reject(String)
    }

    /// Seconds before the first retry.
    var minBackoff: Double
    /// Seconds at most between retries.
    var maxBackoff: Double

    init(minBackoff: Double, maxBackoff: Double) {
        self.minBackoff = minBackoff
        self.maxBackoff = max(minBackoff, maxBackoff)
    }

    init(configuration: RemoteWriteConfiguration) {
        self.init(minBackoff: configuration.minBackoff.inSeconds, maxBackoff: configuration.maxBackoff.inSeconds)
    }

    /// The outcome of an HTTP status; `detail` (the start of the response body) goes into the message.
    static func classify(status: Int, detail: String) -> Outcome {
        let text = detail.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(detail)"
        switch status {
        case 200..<300: return .delivered
        case 429, 500..<600: return .retry(text)
        default: return .reject(text)
        }
    }

    /// The wait before retry number `attempt` (0 for the first retry): the exponential step
    /// `minBackoff * 2^attempt`, capped at `maxBackoff`, then "equal jitter": half of it fixed and half
    /// random, so that gateways that failed together do not retry in lock step, yet never hammer the
    /// receiver with near-zero waits. `random` is uniform in 0..<1.
    func delay(attempt: Int, random: Double) -> Double {
        let exponent = Double(min(max(attempt, 0), 62))
        let step = min(maxBackoff, minBackoff * (exponent < 62 ? Double(1 << Int(exponent)) : .infinity))
        return step / 2 + step / 2 * min(max(random, 0), 1)
    }
}
