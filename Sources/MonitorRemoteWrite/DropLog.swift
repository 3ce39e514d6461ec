/// Throttles the log lines about dropped samples: the first drop of a reason is logged at once, later
/// ones are summed and logged at most once per `interval` per reason, so that an agent replaying
/// hours of refused samples writes a line every few seconds, not one per batch.
struct DropLog {
    /// What is waiting to be logged for one reason.
    struct Pending {
        var samples = 0
        /// The latest detail (the receiver's answer, the configured age).
        var detail = ""
    }

    /// One line to write.
    struct Line: Equatable {
        var reason: DropReason
        var samples: Int
        var detail: String
    }

    let interval: Double
    private var pending: [DropReason: Pending] = [:]
    private var lastLogged: [DropReason: Double] = [:]

    init(interval: Double = 10) {
        self.interval = interval
    }

    /// Records `samples` dropped for `reason`; returns the line to log now, if one is due.
    mutating func record(_ samples: Int, reason: DropReason, detail: String, now: Double) -> Line? {
        guard samples > 0 else { return nil }
        pending[reason, default: Pending()].samples += samples
        pending[reason]?.detail = detail
        return take(reason, now: now)
    }

    /// The lines whose interval has passed since their reason was last logged (or every pending line,
    /// with `all`, for the last word at stop).
    mutating func due(now: Double, all: Bool = false) -> [Line] {
        DropReason.allCases.compactMap { reason in all ? take(reason, now: now, force: true) : take(reason, now: now) }
    }

    private mutating func take(_ reason: DropReason, now: Double, force: Bool = false) -> Line? {
        guard let waiting = pending[reason], waiting.samples > 0 else { return nil }
        if !force, let last = lastLogged[reason], now - last < interval { return nil }
        pending[reason] = nil
        lastLogged[reason] = now
        return Line(reason: reason, samples: waiting.samples, detail: waiting.detail)
    }
}
