import DaemonKit

extension Backoff {
    /// The agent's reconnect schedule: 0.5 s, 1 s, 2 s, 4 s, 4 s, ..., each drawn from [d/2, d].
    ///
    /// The cap keeps delivery within about 5 s of a gateway's return after any outage; it is low
    /// because an attempt costs a gateway little (a refused connect, or a TLS handshake), and the
    /// jitter spreads a fleet's attempts over 2 s.
    init() {
        self.init(initial: 0.5, cap: 4)
    }
}
