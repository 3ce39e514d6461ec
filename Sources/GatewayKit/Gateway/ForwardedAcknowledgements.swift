import Synchronization

/// `acknowledge = forwarded`, the gateway's side: the position up to which remote write has the
/// write-ahead log's records delivered (2xx) or given up for good, and the connections waiting for
/// it to reach a record (each with its ``ForwardedAckQueue``).
///
/// Told by ``LogForwarding`` as soon as the receiver answered, before the position reaches the
/// disk: the receiver holds the samples then, whatever becomes of this gateway. A connection
/// waits for one record at a time (its oldest owed ack); a confirmation wakes exactly the
/// connections whose record it reached, so a confirmation costs one pass over the waiting ones,
/// and nothing for connections with nothing owed.
final class ForwardedAcknowledgements: Sendable {
    typealias Wake = @Sendable () -> Void

    private struct State {
        var confirmed: UInt64
        var waiting: [ObjectIdentifier: (record: UInt64, wake: Wake)] = [:]
        /// Records remote write passed over unread (damaged, or gone): acks that cover them are never
        /// given. Each with the number of its report (1, 2, ...); a few, merged into one span (with
        /// the latest number) beyond ``maximumLostRanges``: coarser, never wrong.
        var lost: [(records: ClosedRange<UInt64>, report: UInt64)] = []
        var reports: UInt64 = 0
        /// Set when the log's directory is no longer the one it locked: nothing is acknowledged any more.
        var halted = false
    }

    static let maximumLostRanges = 16

    private let state: Mutex<State>

    /// - Parameter confirmed: the position found on disk at the start.
    init(confirmed: UInt64) {
        state = Mutex(State(confirmed: confirmed))
    }

    /// The highest position confirmed so far.
    var confirmed: UInt64 { state.withLock { $0.confirmed } }

    /// Calls `wake` once the position reaches `record`: at once (on the caller's thread) if it
    /// has, else from the confirming thread. Replaces an earlier wait of `waiter`.
    func wait(_ waiter: ObjectIdentifier, for record: UInt64, wake: @escaping Wake) {
        let now = state.withLock { state -> Bool in
            if record <= state.confirmed {
                state.waiting[waiter] = nil
                return true
            }
            state.waiting[waiter] = (record, wake)
            return false
        }
        if now { wake() }
    }

    /// Forgets `waiter` (its connection closed).
    func cancel(_ waiter: ObjectIdentifier) {
        _ = state.withLock { $0.waiting.removeValue(forKey: waiter) }
    }

    /// Every record up to `position` is delivered or given up for good. An older position than
    /// one already told is ignored.
    func confirm(upTo position: UInt64) {
        let due = state.withLock { state -> [Wake] in
            guard position > state.confirmed else { return [] }
            state.confirmed = position
            let reached = state.waiting.filter { $0.value.record <= position }
            for waiter in reached.keys { state.waiting[waiter] = nil }
            return reached.values.map(\.wake)
        }
        for wake in due { wake() }
    }

    /// Remote write passed over `records` without delivering them: no ack may cover them. Told before
    /// any position past them is confirmed (the reader reports them before the request is sent).
    ///
    /// The store must have forgotten every agent's last sequence first: a connection that starts
    /// after this report (``lossReports``) then has all its samples logged anew, after these records.
    func lose(_ records: ClosedRange<UInt64>) {
        state.withLock { state in
            state.reports += 1
            state.lost.append((records, state.reports))
            if state.lost.count > Self.maximumLostRanges {
                let low = state.lost.map(\.records.lowerBound).min()!
                let high = state.lost.map(\.records.upperBound).max()!
                state.lost = [(low...high, state.reports)]
            }
        }
    }

    /// How many losses were reported so far: what a connection notes when it starts.
    var lossReports: UInt64 { state.withLock { $0.reports } }

    /// Whether an ack covering the records after `acknowledged` up to `due` would cover a lost one,
    /// for a connection that started after `reportsBefore` reports (earlier losses cannot hold its
    /// samples: they were logged anew, after them). Replays the store took as known may have their
    /// first copy in any earlier record, so `acknowledged` is 0 until the connection's first ack.
    func coversLost(after acknowledged: UInt64, upTo due: UInt64, reportsBefore: UInt64) -> Bool {
        guard due > acknowledged else { return false }
        return state.withLock { state in
            state.halted
                || state.lost.contains {
                    $0.report > reportsBefore && $0.records.lowerBound <= due && $0.records.upperBound > acknowledged
                }
        }
    }

    /// The log's directory is no longer the one it locked: records written since may be where no
    /// restart reads them, so nothing is acknowledged any more (until monitord is restarted).
    /// Returns whether this call halted it (false when it already was), for saying so once.
    @discardableResult
    func halt() -> Bool {
        state.withLock { state in
            defer { state.halted = true }
            return !state.halted
        }
    }

    /// How many connections wait (for the tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
