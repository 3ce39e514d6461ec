import DaemonKit
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
        /// A final refusal: the status, and the explanation for the log.
        case reject(Int, String)
    }

    /// The waits between retries: `min-backoff` doubling up to `max-backoff`.
    var backoff: Backoff

    init(minBackoff: Double, maxBackoff: Double) {
        backoff = Backoff(initial: minBackoff, cap: maxBackoff)
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
        default: return .reject(status, text)
        }
    }

    /// Whether a refusal may be about some samples of the request, so that sending its parts apart
    /// can get the others stored (400 bad request, 413 too large, 422): not so for authentication,
    /// permission, a wrong path or method, which refuse every part alike.
    static func refusalMayBeTheContents(_ status: Int) -> Bool {
        ![401, 403, 404, 405, 407].contains(status)
    }

    /// The wait, in seconds, before retry number `attempt` (0 for the first retry); see ``Backoff``.
    /// `random` is uniform in 0..<1.
    func delay(attempt: Int, random: Double) -> Double {
        backoff.delay(attempt: attempt, random: random)
    }
}
