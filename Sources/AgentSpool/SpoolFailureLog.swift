/// Decides when the spool says that its writes fail (a full disk, most often) and when they work
/// again: once each. A disk hovering at full makes writes fail and succeed by turns, and a line for
/// every turn would flood the journal with one line per sample.
///
/// A failure starts an episode, logged with the error's text. The episode ends only when writes have
/// worked for ``recoveryTime`` without a failure, and that is logged once too. An episode beginning
/// within ``quietTime`` of the last logged one is only counted (``failedWrites``), not logged, nor is
/// its end.
struct SpoolFailureLog {
    /// What to log, if anything.
    enum Line: Equatable {
        /// Writes started failing, with the error's text.
        case failing(String)
        /// Writes work again, after `failures` failed since the episode began.
        case recovered(failures: UInt64)
    }

    static let recoveryTime = Duration.seconds(10)
    static let quietTime = Duration.seconds(60)

    /// Failed writes (and reads) since the agent started.
    private(set) var failedWrites: UInt64 = 0
    private var episode: (failures: UInt64, lastFailure: ContinuousClock.Instant, logged: Bool)?
    private var lastLogged: ContinuousClock.Instant?

    var isFailing: Bool { episode != nil }

    mutating func failed(_ text: String, now: ContinuousClock.Instant) -> Line? {
        failedWrites &+= 1
        if var current = episode {
            current.failures &+= 1
            current.lastFailure = now
            episode = current
            return nil
        }
        let quiet = lastLogged.map { now - $0 < Self.quietTime } ?? false
        episode = (1, now, !quiet)
        guard !quiet else { return nil }
        lastLogged = now
        return .failing(text)
    }

    mutating func succeeded(now: ContinuousClock.Instant) -> Line? {
        guard let current = episode, now - current.lastFailure >= Self.recoveryTime else { return nil }
        episode = nil
        return current.logged ? .recovered(failures: current.failures) : nil
    }
}
