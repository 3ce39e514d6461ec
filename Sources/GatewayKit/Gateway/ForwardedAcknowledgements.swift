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
    }

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

    /// How many connections wait (for the tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
