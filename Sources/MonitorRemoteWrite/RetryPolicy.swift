import DaemonKit
import GatewayConfig
import MonitorConfig

/// What to do after one attempt to deliver a batch, and how long to wait before the next.
///
/// Follows what every remote-write receiver documents: 2xx is stored; 429 (rate limited) and 5xx
/// (overloaded, restarting) are worth retrying, and so are 408 (the request timed out, at the
/// receiver or a proxy before it) and 425 (too early), which say nothing about the samples; a 4xx
/// about the body (bad labels, out-of-order samples, too large) means the receiver will never
/// accept it, so retrying would only stall every later sample.
///
/// A refusal of the request rather than of its samples is retried too, as vmagent does: a redirect
/// (never followed: it would carry the credentials elsewhere), 401, 403, 404, 405 and 407 say the URL,
/// the credentials or the permissions are wrong, which an operator fixes; dropping the samples meanwhile
/// would lose, after the fix, everything the gateway acknowledged while the configuration was wrong.
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
        case 408, 425, 429, 500..<600: return .retry(text)
        case 300..<400:
            return .retry("\(text) (check the url: a redirect, never followed)")
        case 401, 403, 407:
            return .retry("\(text) (check the credentials)")
        case 404, 405:
            return .retry("\(text) (check the url)")
        // 400, 409, 413, 422 and the like: these samples, as sent, will never be taken.
        case 400..<500: return .reject(status, text)
        // 1xx never ends a response, and no other status is defined: a broken receiver.
        default: return .retry(text)
        }
    }

    /// The wait, in seconds, before retry number `attempt` (0 for the first retry); see ``Backoff``.
    /// `random` is uniform in 0..<1.
    func delay(attempt: Int, random: Double) -> Double {
        backoff.delay(attempt: attempt, random: random)
    }
}
