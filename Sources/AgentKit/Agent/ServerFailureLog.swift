import MonitorConfig

/// Which server failures the uplink logs: each server's first failure of each kind, then that kind
/// again only after ``quietPeriod`` (with how many went unlogged meanwhile), so that an operator
/// learns that a primary is broken even while a later server takes the samples (outside audit 4,
/// finding 17), and a server that fails at every attempt cannot flood the journal.
struct ServerFailureLog {
    /// How long the same failure of the same server stays unlogged after it was logged.
    static let quietPeriod = Duration.seconds(600)

    private struct Key: Hashable {
        var server: HostPort
        var kind: String
    }

    private struct Entry {
        var loggedAt: ContinuousClock.Instant
        var unlogged = 0
    }

    private var entries: [Key: Entry] = [:]

    /// Kinds of failure a server shows after it welcomed the agent: a connection to it is no sign of
    /// recovery, and is not announced while such a failure is in its quiet period.
    static let afterWelcome: Set<String> = ["flooding", "protocol error", "acknowledges nothing new", "took no sample"]

    /// Whether `server` failed after a welcome (``afterWelcome``) within the quiet period: the
    /// agent's next connection to it is then logged at debug, not once a round (audit 18, F3).
    func failsAfterWelcome(_ server: HostPort, now: ContinuousClock.Instant = .now) -> Bool {
        entries.contains { key, entry in
            key.server == server && Self.afterWelcome.contains(key.kind) && now - entry.loggedAt < Self.quietPeriod
        }
    }

    /// Notes a failure of `server` of the given `kind`; returns whether to log it now and, if so,
    /// how many of the same went unlogged since it was last logged.
    mutating func note(
        _ server: HostPort, kind: String, now: ContinuousClock.Instant = .now
    ) -> (log: Bool, unlogged: Int) {
        let key = Key(server: server, kind: kind)
        if var entry = entries[key], now - entry.loggedAt < Self.quietPeriod {
            entry.unlogged += 1
            entries[key] = entry
            return (false, 0)
        }
        let unlogged = entries[key]?.unlogged ?? 0
        // Entries past their quiet period say nothing any more: dropped, so that servers removed by
        // a reload and kinds seen once do not pile up.
        entries = entries.filter { now - $0.value.loggedAt < Self.quietPeriod }
        entries[key] = Entry(loggedAt: now)
        return (true, unlogged)
    }
}
