/// `acknowledge = forwarded`, one connection's side: the acks it owes its agent, each waiting for
/// remote write to confirm a record of the write-ahead log.
///
/// An ack is cumulative (every sample of the session up to `sequence`), and the log is forwarded
/// in record order, so an ack may go out once the confirmed position reaches the last record
/// written when the ack was due: that record, and every earlier one (the samples it covers, or
/// their first copies for samples the store recognised as replays), is then delivered or given up
/// for good. A pair (record, sequence) per read cycle, oldest first; both only grow.
///
/// Bounded: at ``capacity`` pairs, a new one is merged into the newest (which then waits for the
/// later record). The acks grow coarser, never wrong: a sequence is never acknowledged before its
/// record is confirmed. So a peer cannot grow the queue, however many tiny read cycles it makes.
struct ForwardedAckQueue: Sendable, Equatable {
    struct Pending: Sendable, Equatable {
        /// The log's record the ack waits for.
        var record: UInt64
        var sequence: UInt64
    }

    /// Pairs kept per connection: 64 of 16 bytes; with 20,000 connections, 20 MB at most.
    static let defaultCapacity = 64

    let capacity: Int
    private(set) var pending: [Pending] = []
    /// The highest sequence handed out by ``confirmed(upTo:)`` (0: none).
    private(set) var acknowledged: UInt64 = 0
    /// The record that ack waited for (0: none): every sample acknowledged is in it or before it.
    private(set) var acknowledgedRecord: UInt64 = 0

    init(capacity: Int = Self.defaultCapacity) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    /// The record the oldest waiting ack needs, or nil when none waits.
    var nextRecord: UInt64? { pending.first?.record }

    /// Notes that the agent is owed an ack of `sequence` once the log is confirmed up to `record`.
    mutating func owe(_ sequence: UInt64, once record: UInt64) {
        // An ack not beyond one already owed or given adds nothing (it is cumulative).
        guard sequence > max(acknowledged, pending.last?.sequence ?? 0) else { return }
        if let last = pending.indices.last, record <= pending[last].record || pending.count >= capacity {
            // Same record (a cycle that logged nothing new), or full: the newest pair takes it on,
            // waiting for the later of the two records.
            pending[last] = Pending(record: max(record, pending[last].record), sequence: sequence)
        } else {
            pending.append(Pending(record: record, sequence: sequence))
        }
    }

    /// The log is confirmed up to `position`: the highest sequence that may now be acknowledged,
    /// or nil when no waiting ack is due. Positions may come late or out of order; an older one
    /// simply frees nothing new.
    mutating func confirmed(upTo position: UInt64) -> UInt64? {
        let due = pending.prefix { $0.record <= position }.count
        guard due > 0 else { return nil }
        acknowledged = pending[due - 1].sequence
        acknowledgedRecord = pending[due - 1].record
        pending.removeFirst(due)
        return acknowledged
    }

    /// The record the ack ``confirmed(upTo:)`` would give at `position` waits for, or nil when none is due.
    func dueRecord(at position: UInt64) -> UInt64? {
        pending.last { $0.record <= position }?.record
    }
}
