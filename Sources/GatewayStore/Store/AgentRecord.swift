import MonitorModel

/// The mutable state the store keeps per agent: a fixed handful of fields, so memory per agent is constant.
struct AgentRecord {
    var dialect: AgentDialect
    var remoteAddress: String
    /// Whether the current (or last) connection came over TLS, for the status page.
    var usesTLS = false
    var connection: ConnectionID?
    var connectedSince: Double?
    var disconnectedAt: Double?
    /// The session whose numbering `highestSequence` refers to; `nil` for peers that number nothing.
    var session: String?
    /// The highest sequence held of `session`; `nil` until the session's first sample, so that a
    /// welcome never claims a sample the gateway does not hold (sequences start at 1).
    var highestSequence: UInt64?
    /// The time of the last sample, by the agent's clock (kept within `[0, now]`).
    var lastSeen: Double?
    /// When the last sample arrived, by the gateway's clock.
    var lastArrival: Double?
    /// The least delay (arrival less the sample's own time) any sample of this connection arrived
    /// with: about how far the agent's clock lags the gateway's, since a sample sent as it is taken
    /// arrives within a round trip.
    var leastDelay: Double?
    var latest: Sample?
    /// The newest time any sample of the agent was kept with (its own `ts`, after clamping, or its
    /// arrival without one): what it is forwarded with, so a clamped sample is stamped after it.
    var newestTime: Double?
    var samplesReceived: UInt64 = 0

    var isConnected: Bool { connection != nil }

    /// How far the record is tied to a real agent. Anonymous records (a report-format peer: no name, no
    /// token, a new record on every connection; or an agent that has not delivered a single sample) have
    /// their own, smaller quotas and a short memory, so that they cannot crowd out the fleet.
    enum Standing: Hashable {
        case reportFormat
        case undelivered
        case proven
    }

    var standing: Standing {
        if dialect == .reportFormat { return .reportFormat }
        return samplesReceived == 0 ? .undelivered : .proven
    }

    var isAnonymous: Bool { standing != .proven }

    /// Connected, and its last sample arrived, or it (re)connected, within `agentTimeout`: a just
    /// connected agent is up until its first sample is late. Judged by arrival, not by the sample's
    /// time: an agent whose clock is slow is on time all the same.
    func isUp(now: Double, agentTimeout: Double) -> Bool {
        let lastSign = max(lastArrival ?? lastSeen ?? -Double.infinity, connectedSince ?? -Double.infinity)
        return isConnected && now - lastSign < agentTimeout
    }

    /// Its last sample is younger than `agentTimeout`, counted from the sample's time plus the lag of
    /// the agent's clock (``leastDelay``, at most `tolerance`). Records restored from the log have no
    /// delay seen yet and are judged by the samples' time alone.
    func isFresh(now: Double, agentTimeout: Double, tolerance: Double) -> Bool {
        guard let lastSeen else { return false }
        let lag = min(max(leastDelay ?? 0, 0), tolerance)
        return now - lastSeen - lag < agentTimeout
    }

    /// Registers a new connection and returns the sequence already held when it continues the current session.
    mutating func connect(
        _ id: ConnectionID, session: String?, dialect: AgentDialect, remoteAddress: String, usesTLS: Bool = false,
        now: Double
    ) -> UInt64? {
        self.connection = id
        self.usesTLS = usesTLS
        self.connectedSince = now
        // Learnt again on each connection: a clock corrected meanwhile must not keep its old lag.
        self.leastDelay = nil
        self.disconnectedAt = nil
        self.dialect = dialect
        self.remoteAddress = remoteAddress
        guard let session else { return nil }
        if session == self.session { return highestSequence }
        // A new session (the agent restarted): its numbering starts afresh, the old one can no longer be compared.
        self.session = session
        self.highestSequence = nil
        return nil
    }

    /// Closes the connection only if it is still the agent's current one.
    mutating func disconnect(_ id: ConnectionID, now: Double) {
        guard id == connection else { return }
        connection = nil
        disconnectedAt = now
    }

    mutating func record(_ sample: Sample, session: String?, now: Double) -> Bool {
        let inCurrentSession = session != nil && session == self.session
        if inCurrentSession {
            if let highestSequence, sample.sequence <= highestSequence { return false }
            highestSequence = sample.sequence
        }
        samplesReceived &+= 1
        let seen = Self.effectiveTime(of: sample, now: now)
        lastSeen = max(lastSeen ?? seen, seen)
        lastArrival = now
        let time = sample.timestamp ?? now
        if time.isFinite { newestTime = max(newestTime ?? time, time) }
        leastDelay = min(leastDelay ?? (now - seen), now - seen)
        // Within the current session every new sample has the highest sequence so far; an unnumbered peer's newest
        // arrival is its newest value; a sample of a superseded session is older than anything the current one sent.
        if inCurrentSession || session == nil || latest == nil {
            latest = sample
        }
        return true
    }

    /// The time to keep a sample with whose own `ts` is more than `tolerance` ahead of its arrival
    /// `now`: the arrival, or, when the agent already has a sample at or after that millisecond, the
    /// millisecond after its newest (remote write's unit), so that the agent's timestamps stay
    /// strictly increasing and a clamped sample is never dropped as out of order after being
    /// acknowledged.
    ///
    /// The chain is followed past `now + tolerance` (a sample kept just inside the tolerance and a
    /// burst of clamped ones after it go a few milliseconds beyond), but not past
    /// `now + 2 × tolerance + 1 s` (the second leaves room for a burst when the tolerance is 0):
    /// only a sender of more than one clamped sample per millisecond for a whole tolerance gets
    /// there, or a log written before the gateway's own clock was set back, and neither may stamp
    /// samples arbitrarily far ahead. Beyond it the arrival is used.
    func clampedTime(now: Double, tolerance: Double) -> Double {
        guard let newestTime else { return now }
        let newest = (newestTime * 1000).rounded()
        let arrival = (now * 1000).rounded()
        let bound = arrival + 2 * (tolerance * 1000).rounded() + 1000
        guard arrival <= newest, newest < bound else { return now }
        return (newest + 1) / 1000
    }

    /// The agent's own timestamp, trusted only within `[0, now]`: a clock running ahead must not keep an agent fresh.
    static func effectiveTime(of sample: Sample, now: Double) -> Double {
        guard let timestamp = sample.timestamp, timestamp.isFinite else { return now }
        return min(max(timestamp, 0), now)
    }
}
