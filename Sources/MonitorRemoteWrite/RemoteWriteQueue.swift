import GatewayConfig
import MonitorConfig
import MonitorModel
import NIOCore

/// One accepted agent sample waiting to be forwarded: the four series values of one agent at one time.
struct PendingSample: Sendable, Equatable {
    /// The `agent_number` label.
    var agent: String
    /// Milliseconds since the Unix epoch: the agent's sampling time, or the arrival time for the report's format.
    var timestampMilliseconds: Int64
    var sample: Sample
    /// When it entered the queue, in the writer's clock (seconds), to know when a partial batch is due.
    var enqueuedAt: Double

    /// Every agent sample becomes this many remote-write samples (one per family).
    static let seriesPerSample = ReportFamily.allCases.count

    /// Unix seconds as a remote-write timestamp; nil for a time that is no number or does not fit.
    static func milliseconds(_ seconds: Double) -> Int64? {
        guard seconds.isFinite, abs(seconds) < 9e15 else { return nil }
        return Int64((seconds * 1000).rounded())
    }
}

/// The bounded FIFO between the agent connections and the one sender.
///
/// Pure and single-threaded (the writer keeps it under a lock) so that its rules are tested alone:
/// it never grows past its capacity (the oldest sample makes room and is counted as dropped), and
/// a batch is due when it is full or when its oldest sample has waited `flushInterval`.
struct RemoteWriteQueue {
    /// In agent samples (each is four remote-write samples).
    let capacity: Int
    /// Agent samples per batch at most.
    let batchSize: Int
    /// Seconds a partial batch may wait.
    let flushInterval: Double
    private var entries: CircularBuffer<PendingSample>
    /// Agent samples pushed out by newer ones while the queue was full.
    private(set) var dropped: UInt64 = 0

    init(capacity: Int, batchSize: Int, flushInterval: Double) {
        precondition(capacity >= 1 && batchSize >= 1)
        self.capacity = capacity
        self.batchSize = min(batchSize, capacity)
        self.flushInterval = flushInterval
        self.entries = CircularBuffer(initialCapacity: min(capacity, 4096))
    }

    /// Sizes in remote-write samples, as configured, rounded down to whole agent samples (at least one).
    init(configuration: RemoteWriteConfiguration) {
        self.init(
            capacity: max(1, configuration.queueCapacity / PendingSample.seriesPerSample),
            batchSize: max(1, configuration.maxSamplesPerSend / PendingSample.seriesPerSample),
            flushInterval: configuration.flushInterval.inSeconds
        )
    }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// Adds `entry`, dropping the oldest when full. Returns whether a full batch is now waiting, so the
    /// caller wakes the sender only when there is something for it to do.
    mutating func append(_ entry: PendingSample) -> Bool {
        if entries.count >= capacity {
            entries.removeFirst()
            dropped &+= 1
        }
        entries.append(entry)
        return entries.count >= batchSize
    }

    /// When the oldest queued entry arrived, in the writer's clock, or nil if empty.
    var oldestEnqueuedAt: Double? { entries.first?.enqueuedAt }

    /// When the current partial batch becomes due (its oldest entry's time plus the flush interval), or nil if empty.
    var deadline: Double? {
        entries.first.map { $0.enqueuedAt + flushInterval }
    }

    /// Whether a batch is due at `now` (full, or its oldest entry has waited the flush interval).
    func isDue(now: Double) -> Bool {
        guard let deadline else { return false }
        return entries.count >= batchSize || now >= deadline
    }

    /// The next batch, oldest first, if one is due at `now` (or if `force`, whatever is queued, for a final flush).
    mutating func takeBatch(now: Double, force: Bool = false) -> [PendingSample]? {
        guard let deadline else { return nil }
        guard force || entries.count >= batchSize || now >= deadline else { return nil }
        let count = min(batchSize, entries.count)
        var batch: [PendingSample] = []
        batch.reserveCapacity(count)
        for _ in 0..<count { batch.append(entries.removeFirst()) }
        return batch
    }
}
