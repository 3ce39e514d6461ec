/// Throttles the log lines about dropped samples: the first drop of a reason is logged at once, later
/// ones are summed and logged at most once per `interval` per reason, so that an agent replaying
/// hours of refused samples writes a line every few seconds, not one per batch.
struct DropLog {
    /// What is waiting to be logged for one reason.
    struct Pending {
        var samples = 0
        /// The latest detail (the receiver's answer, the configured age).
        var detail = ""
        /// The log records the drops held (`wal_full`): from the first to the last dropped since
        /// the previous line, so that a merged line names all of them, not the last drop's.
        var records: ClosedRange<UInt64>?
    }

    /// One line to write.
    struct Line: Equatable {
        var reason: DropReason
        var samples: Int
        var detail: String
        var records: ClosedRange<UInt64>?

        /// The line as logged (without the "remote write " prefix).
        var text: String {
            let parts =
                (detail.isEmpty ? [] : [detail])
                + (records.map { ["records \($0.lowerBound)...\($0.upperBound)"] } ?? [])
            let suffix = parts.isEmpty ? "" : " (\(parts.joined(separator: "; ")))"
            return "dropped \(samples) samples \(reason.explanation)\(suffix)"
        }
    }

    let interval: Double
    private var pending: [DropReason: Pending] = [:]
    private var lastLogged: [DropReason: Double] = [:]

    init(interval: Double = 10) {
        self.interval = interval
    }

    /// Records `samples` dropped for `reason`; returns the line to log now, if one is due.
    mutating func record(
        _ samples: Int, reason: DropReason, detail: String = "", records: ClosedRange<UInt64>? = nil, now: Double
    ) -> Line? {
        guard samples > 0 else { return nil }
        var waiting = pending[reason] ?? Pending()
        waiting.samples += samples
        waiting.detail = detail
        if let records {
            waiting.records =
                waiting.records.map {
                    min($0.lowerBound, records.lowerBound)...max($0.upperBound, records.upperBound)
                } ?? records
        }
        pending[reason] = waiting
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
        return Line(reason: reason, samples: waiting.samples, detail: waiting.detail, records: waiting.records)
    }
}
