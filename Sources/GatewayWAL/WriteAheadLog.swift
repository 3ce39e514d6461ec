public import GatewayStore
import GatewayWALFiles
public import Logging
import MonitorModel
public import MonitorSystem
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway's write-ahead log: every sample a native agent delivered, in append-only segment
/// files, so that what the gateway acknowledged survives a `kill -9` (and, with `wal-fsync =
/// always`, a power cut).
///
/// Layout of the directory (`wal-directory`):
/// - `wal-<number of its first record, 20 digits>.log`: segments in the format of ``WALFormat``.
///   Only the newest is appended to; it is rotated at ``segmentBytes``.
/// - `*.tmp`: a segment header being written; removed on open.
/// - `lock`: the pid of the process that has the log open and holds the directory's lock
///   (``WALDirectoryLock``); a second gateway on the directory refuses to start.
///
/// Appending is a `write(2)` under a lock: once ``append(_:)`` returns, a killed gateway loses
/// nothing of it (the kernel holds the bytes). Group commit: ``waitDurable(upTo:)`` waits for an
/// `fsync(2)`, run on a thread of its own; one fsync covers every record appended before it
/// started, so many connections waiting at once cost one disk flush, not one each.
///
/// Bound: beyond ``maximumBytes`` the oldest segment is deleted before the next write, its records
/// counted in ``Statistics/droppedRecords`` and logged. Every segment starts with a checkpoint
/// (``LogCheckpoint``: each agent's received count, newest record and last seen) of all records
/// before it, kept up to date as records are appended, so that a restart after a deletion
/// restores the counters as they were, not from the records left.
///
/// Damage: opening reads every segment once (``WALRecovery``). A torn or corrupt record is
/// reported once with file and offset and the file is cut there; a segment whose header is
/// unreadable is reported and deleted; a file that is not a regular file is reported and left
/// alone. Opening never traps.
///
/// Failures: a failed write is cut back to the last whole record and thrown to the caller, who
/// then must not acknowledge; the log stays usable (a full disk may clear). A failed fsync is
/// final: after it the kernel may have dropped the pages and a later fsync could succeed without
/// them, so every later append and wait fails until the gateway is restarted.
public final class WriteAheadLog: Sendable {
    /// When appended records are flushed to stable storage (`wal-fsync`).
    /// Told once records are durable, or why they will not be; called on the sync thread or the caller's.
    public typealias Completion = @Sendable (Result<Void, FileOperationError>) -> Void

    public enum SyncPolicy: Sendable, Equatable {
        /// Group commit: ``waitDurable(upTo:)`` returns once an fsync covered the records.
        case always
        /// At most this often; ``waitDurable(upTo:)`` returns at once (a kill loses nothing, a
        /// power cut up to one period).
        case every(Duration)
    }

    /// What `/metrics` shows of the log.
    public struct Statistics: Sendable, Equatable {
        public var bytes: Int
        public var segments: Int
        /// Records deleted to stay within the bound, since the gateway started.
        public var droppedRecords: UInt64
        public var fsyncs: UInt64
        public var fsyncSeconds: Double
        /// Records appended since the gateway started.
        public var appendedRecords: UInt64
    }

    /// What the log tells its reader (remote write) as it happens, under its lock, so that the
    /// order of the calls is the order of the records: the reader must not call the log from them.
    public struct Events: Sendable {
        /// Records up to this number are written.
        public var appended: @Sendable (UInt64) -> Void
        /// The bound deleted the records numbered `first..<first + count`.
        public var dropped: @Sendable (_ first: UInt64, _ count: UInt64) -> Void

        public init(
            appended: @escaping @Sendable (UInt64) -> Void,
            dropped: @escaping @Sendable (_ first: UInt64, _ count: UInt64) -> Void
        ) {
            self.appended = appended
            self.dropped = dropped
        }
    }

    /// What opening the log found.
    public struct Recovery: Sendable, Equatable {
        public var records: Int
        public var segments: Int
        /// Damaged segments reported (and cut or deleted), and gaps in the numbering between segments.
        public var damaged: Int
        /// Records numbered in gaps between segments (a segment deleted or moved away): lost.
        public var missingRecords: UInt64
        /// What the log's records add up to per agent, older segments' checkpoints included: what
        /// the store restores (``AgentStore/restore(_:)``).
        public var checkpoint: LogCheckpoint
        /// Per agent, the newest timestamp (Unix seconds) of its records up to `forwardedThrough`,
        /// those in `passedOver` (``ForwardingLosses``) left out:
        /// what remote write sent of each series before this start, which a sample sent again
        /// after it must not go behind.
        public var newestForwarded: [String: Double] = [:]
    }

    /// Which agents a checkpoint keeps: as the store would after a restart (`forget-after`,
    /// `max-agents`), so that it stays as bounded as the store.
    public struct Retention: Sendable, Equatable {
        public var forgetAfter: Duration
        public var maximumAgents: Int

        public init(forgetAfter: Duration, maximumAgents: Int) {
            self.forgetAfter = forgetAfter
            self.maximumAgents = maximumAgents
        }
    }

    typealias Segment = WALSegment

    private struct State {
        var segments: [Segment] = []
        var active: Int32 = -1
        /// The number of the last record appended (0: none yet, ever).
        var lastAppended: UInt64 = 0
        /// The number of the last record an fsync covered.
        var lastDurable: UInt64 = 0
        /// Descriptors of segments rotated away whose data no fsync has covered yet: the syncer's.
        var retired: [Int32] = []
        var directoryChanged = false
        var syncing = false
        var waiters: [(upTo: UInt64, done: Completion)] = []
        /// Set by a failed fsync; final.
        var broken: FileOperationError?
        /// The last write failure logged, so that a full disk is logged once, not per batch.
        var writeFailure: String?
        /// Where the last ``records(after:limit:)`` stopped (the first record of its segment, and
        /// the position in it), so that the next read does not scan the segment from its start.
        var readCursor: (segment: UInt64, position: WALTailReader.Position)?
        /// Segments (by first record) a read found damaged: said once each, not at every read.
        var damagedSegments: Set<UInt64> = []
        /// Set when the segment being appended to was found damaged: what is appended after the
        /// damage could not be read back, so the next append starts a new segment.
        var rotateBeforeNextAppend = false
        /// What every record appended so far adds up to: written at the start of each new segment.
        var checkpoint = LogCheckpoint()
        /// With `acknowledge = forwarded`: the last record the receiver confirmed. Records after it
        /// were promised to arrive; the bound refuses appends rather than delete them.
        var keptAfter: UInt64?
        /// With `acknowledge = forwarded` (``widenLossesToLastAppended()``): how many losses the
        /// reader found, each widened to the last record appended then.
        var widenedLosses: UInt64?
        /// How often the receiver's confirmations moved ``keptAfter``: a connection waiting for room
        /// tries again when it changes (``confirmations``).
        var confirmations: UInt64 = 0
        /// Appends refused by the bound (with `forwarded`), and when that was last logged.
        var fullRefusals: UInt64 = 0
        var fullReported: ContinuousClock.Instant?
        var statistics = Statistics(
            bytes: 0, segments: 0, droppedRecords: 0, fsyncs: 0, fsyncSeconds: 0, appendedRecords: 0)

        var totalBytes: Int { segments.reduce(0) { $0 + $1.bytes } }
    }

    static let maximumSegmentBytes = WALRecovery.maximumSegmentRecordBytes

    public let directory: String
    public let maximumBytes: Int
    public let policy: SyncPolicy
    /// Rotation size: a sixteenth of the bound (within 64 KiB...64 MiB), so that the bound costs
    /// at most a sixteenth of the history when it deletes a segment.
    let segmentBytes: Int
    private let logger: Logger
    private let state: Mutex<State>
    private let lostObserver = Mutex<(@Sendable (ClosedRange<UInt64>) -> Void)?>(nil)
    private let syncThread: NIOThreadPool
    private let events: Events?
    private let retention: Retention
    /// This process's claim on the directory, from before recovery until the log is closed.
    private let lock: WALDirectoryLock

    private init(
        directory: String, maximumBytes: Int, policy: SyncPolicy, retention: Retention, logger: Logger,
        events: Events?, lock: WALDirectoryLock
    ) {
        self.lock = lock
        self.directory = directory
        self.maximumBytes = maximumBytes
        self.policy = policy
        self.segmentBytes = min(Self.maximumSegmentBytes, max(64 << 10, maximumBytes / 16))
        self.logger = logger
        self.state = Mutex(State())
        self.syncThread = NIOThreadPool(numberOfThreads: 1)
        self.events = events
        self.retention = retention
    }

    /// Opens (creating if needed) the log in `directory`, checks and repairs its segments, hands
    /// every intact record to `replay` in the order written, and starts a new segment for this run.
    /// `events` hears of every append and every deletion by the bound from then on. `retention`
    /// is the configuration's `forget-after` and `max-agents` (their defaults unless given).
    public static func open(
        directory: String, maximumBytes: Int, policy: SyncPolicy,
        retention: Retention = Retention(forgetAfter: .seconds(3600), maximumAgents: 20_000), logger: Logger,
        events: Events? = nil, forwardedThrough: UInt64 = 0, passedOver: [ClosedRange<UInt64>] = [],
        replay: (WALRecord) -> Void
    ) throws(FileOperationError) -> (WriteAheadLog, Recovery) {
        try DurableFiles.makeDirectory(directory, role: "write-ahead log directory", daemon: "gateway")
        // Before recovery reads or repairs anything: another gateway may be appending here.
        let lock = try WALDirectoryLock(directory: directory)
        let log = WriteAheadLog(
            directory: directory, maximumBytes: maximumBytes, policy: policy, retention: retention, logger: logger,
            events: events, lock: lock)
        var found = try WALRecovery.recover(
            directory: directory, logger: logger, forwardedThrough: forwardedThrough, passedOver: passedOver,
            replay: replay)
        guard found.nextRecord < WALFormat.maximumNumber else {
            throw FileOperationError(
                directory, refused: "record numbers in the write-ahead log reach 2^63; move it away")
        }
        log.forgetRetired(&found.checkpoint)
        let recovery = Recovery(
            records: found.records, segments: found.segments.count, damaged: found.damaged,
            missingRecords: found.missingRecords, checkpoint: found.checkpoint, newestForwarded: found.newestForwarded)
        log.syncThread.start()
        log.state.withLock { state in
            state.segments = found.segments
            state.lastAppended = found.nextRecord - 1
            state.lastDurable = found.nextRecord - 1
            state.statistics.fsyncs = UInt64(found.syncedSegments)
            state.checkpoint = found.checkpoint
            // A full disk must not keep the gateway from serving what it restored: without a new
            // segment, appends fail (samples are refused, not acknowledged) and each retries it.
            do throws(FileOperationError) {
                try log.rotate(&state)
            } catch {
                state.writeFailure = error.description
                logger.error(
                    "write-ahead log: cannot start a new segment: \(error); samples are not acknowledged until this clears"
                )
            }
        }
        return (log, recovery)
    }

    /// Drops from `checkpoint` the agents a restarted store would forget at once.
    private func forgetRetired(_ checkpoint: inout LogCheckpoint) {
        checkpoint.forget(inactiveFor: retention.forgetAfter.inSeconds, keeping: retention.maximumAgents)
    }

    /// Writes `records` at the end of the log and returns the number of the last, for
    /// ``waitDurable(upTo:)``. Once it returns, a killed gateway loses none of them.
    public func append(_ records: [WALRecord]) throws(FileOperationError) -> UInt64 {
        try append(records, unlessLossesAfter: nil)!
    }

    /// Like ``append(_:)``, but appends nothing and returns nil when the reader found a loss after
    /// the first `losses` (``losses``, read when the connection started): the connection's agent
    /// holds samples older than these records that must come again first (see
    /// ``widenLossesToLastAppended()``). Checked under the lock that appends, so no append of such
    /// a connection can land after the records a loss passed over.
    public func append(_ records: [WALRecord], unlessLossesAfter losses: UInt64?) throws(FileOperationError)
        -> UInt64?
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * 128)
        for record in records { WALFormat.append(record, to: &bytes) }
        return try state.withLock { (state) throws(FileOperationError) -> UInt64? in
            if let broken = state.broken { throw broken }
            if let losses, let found = state.widenedLosses, found > losses { return nil }
            guard !records.isEmpty else { return state.lastAppended }
            do throws(FileOperationError) {
                let last = state.segments.count - 1
                // The checkpoint does not count: a large one (many agents) must not rotate every batch.
                let recordBytes = state.segments[last].bytes - state.segments[last].recordsStart
                if state.active < 0
                    || ((recordBytes + bytes.count > segmentBytes || state.rotateBeforeNextAppend)
                        && state.segments[last].records > 0)
                {
                    try rotate(&state)
                }
                try dropOldestSegments(&state, toFit: bytes.count)
                let index = state.segments.count - 1
                let path = directory + "/" + state.segments[index].name
                do throws(FileOperationError) {
                    try DurableFiles.writeAll(state.active, bytes, path: path)
                } catch {
                    // Never leave part of a batch in the middle of a segment: cut back to the last
                    // whole record, or stop using this segment if even that fails.
                    if ftruncate(state.active, off_t(state.segments[index].bytes)) != 0 {
                        // Retired, not closed: the records before the failure still need their fsync.
                        state.retired.append(state.active)
                        state.active = -1
                    }
                    throw error
                }
                state.segments[index].bytes += bytes.count
                state.segments[index].records += records.count
                state.lastAppended += UInt64(records.count)
                state.statistics.appendedRecords += UInt64(records.count)
                for record in records { state.checkpoint.add(record) }
                events?.appended(state.lastAppended)
                if state.writeFailure != nil {
                    logger.notice("write-ahead log: writing again")
                    state.writeFailure = nil
                }
                return state.lastAppended
            } catch {
                if error.isFull {
                    // Every waiting connection tries again after each confirmation: said once a minute,
                    // with how many tries waited, not at each (audit 17, E).
                    state.fullRefusals += 1
                    let now = ContinuousClock.now
                    if state.fullReported.map({ now - $0 >= Self.fullReportInterval }) ?? true {
                        logger.warning(
                            "write-ahead log: \(error)",
                            metadata: ["waits": "\(state.fullRefusals)"])
                        state.fullReported = now
                    }
                    throw error
                }
                if state.writeFailure != error.description {
                    state.writeFailure = error.description
                    logger.error("write-ahead log: \(error); samples are not acknowledged until this clears")
                }
                throw error
            }
        }
    }

    /// Returns once record `number` is as durable as the policy asks: with `always`, after an fsync
    /// that covered it (started by this call if none is running); with a period, at once.
    public func waitDurable(upTo number: UInt64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            whenDurable(upTo: number) { continuation.resume(with: $0) }
        }
    }

    /// Calls `done` once record `number` is as durable as the policy asks, as ``waitDurable(upTo:)``
    /// returns, without a task: for an event loop, which must never wait for an fsync itself. `done`
    /// runs at once on the caller's thread when nothing is to be waited for, else on the sync thread.
    public func whenDurable(upTo number: UInt64, _ done: @escaping Completion) {
        let outcome = state.withLock { state -> (ready: Result<Void, FileOperationError>?, start: Bool) in
            if let broken = state.broken { return (.failure(broken), false) }
            if policy != .always || state.lastDurable >= number { return (.success(()), false) }
            state.waiters.append((number, done))
            let start = !state.syncing
            state.syncing = true
            return (nil, start)
        }
        if let ready = outcome.ready { done(ready) }
        if outcome.start { syncThread.submit { [self] _ in syncRounds() } }
    }

    /// Starts an fsync of what was appended, unless one is running or nothing is new: the periodic
    /// policy's clock (see ``run()``) and the last act of a graceful stop.
    public func requestSync() {
        let start = state.withLock { state in
            guard !state.syncing, state.broken == nil,
                state.lastAppended > state.lastDurable || state.directoryChanged
            else { return false }
            state.syncing = true
            return true
        }
        if start { syncThread.submit { [self] _ in syncRounds() } }
    }

    /// With a periodic policy, fsyncs at most once per period until cancelled. With `always` the
    /// waiters drive the fsyncs, and this one each second covers what nobody waits for: with
    /// `acknowledge = forwarded` no ack waits for the disk, and without it the segments rotated
    /// away (and those the bound then deleted) stayed open, unsynced, one descriptor each, until
    /// monitord ran out of them (audit 22, F1).
    public func run() async {
        let period: Duration
        switch policy {
        case .every(let every): period = every
        case .always: period = Self.backgroundSyncPeriod
        }
        while !Task.isCancelled {
            do { try await Task.sleep(for: period) } catch { break }
            requestSync()
        }
    }

    /// Flushes and closes the log (a graceful stop): what was appended is on disk afterwards.
    public func close() async {
        let descriptors = state.withLock { state in
            var descriptors = state.retired
            if state.active >= 0 { descriptors.append(state.active) }
            state.retired = []
            state.active = -1
            return descriptors
        }
        for descriptor in descriptors {
            _ = fsync(descriptor)
            Glibc.close(descriptor)
        }
        try? await syncThread.shutdownGracefully()
        lock.release()
    }

    /// At most `limit` records numbered after `number`, in order, read back from the segments: what
    /// remote write forwards. Records no longer in the log (deleted by the bound, or in a damaged
    /// segment left alone) are passed over: `through` then goes past them with fewer records, and
    /// a read of nothing new returns `through == number`. Reads only what appends have finished.
    public func records(after number: UInt64, limit: Int) throws(FileOperationError) -> LoggedSamples {
        enum Plan {
            case passOver(through: UInt64)
            case read(path: String, segment: UInt64, start: WALTailReader.Position, endBytes: Int, end: UInt64)
        }
        // A segment deleted by the bound between the look and the open is looked up again.
        var attempts = 0
        while true {
            attempts += 1
            let plan = state.withLock { state -> Plan in
                guard number < state.lastAppended else { return .passOver(through: number) }
                let wanted = number + 1
                guard let index = state.segments.lastIndex(where: { $0.firstRecord <= wanted }) else {
                    // Older than the oldest segment: deleted by the bound.
                    return .passOver(through: (state.segments.first?.firstRecord ?? state.lastAppended + 1) - 1)
                }
                let segment = state.segments[index]
                let end = segment.firstRecord + UInt64(segment.records)
                guard wanted < end else {
                    // Between segments: the numbers of a damaged segment that was left alone.
                    let next = index + 1 < state.segments.count ? state.segments[index + 1].firstRecord : end
                    return .passOver(through: max(number, min(next, state.lastAppended + 1) - 1))
                }
                var start = WALTailReader.Position(startOf: segment)
                if let cursor = state.readCursor, cursor.segment == segment.firstRecord,
                    cursor.position.number <= wanted
                {
                    start = cursor.position
                }
                return .read(
                    path: directory + "/" + segment.name, segment: segment.firstRecord, start: start,
                    endBytes: segment.bytes, end: end)
            }
            switch plan {
            case .passOver(let through):
                let lost = through > number ? [number + 1...through] : []
                return passedOver(lost, reading: LoggedSamples(records: [], through: through), handedOut: 0)
            case .read(let path, let segment, let start, let endBytes, let end):
                let result: WALTailReader.Result
                do throws(FileOperationError) {
                    result = try WALTailReader.read(path, from: start, endBytes: endBytes, after: number, limit: limit)
                } catch {
                    if attempts < 3, state.withLock({ !$0.segments.contains { $0.firstRecord == segment } }) {
                        continue
                    }
                    // Deleted, or replaced by a directory or a link, behind the log's back: what it held
                    // is lost, as if damaged; retrying would hold forwarding up for ever (audit 14, F01).
                    // Not so when the directory itself is gone: that is said (and halts acks) elsewhere.
                    guard error.isGone, (try? lock.verify(directory)) != nil else { throw error }
                    var unread = start
                    unread.number = max(start.number, number + 1)
                    result = WALTailReader.Result(records: [], next: unread, damage: "\(error)")
                }
                state.withLock { $0.readCursor = (segment, result.next) }
                var read = LoggedSamples(records: result.records, through: max(number, result.next.number - 1))
                var lost = result.passedOver.map { [$0] } ?? []
                if let damage = result.damage {
                    let firstReport = state.withLock { state in
                        if state.segments.last?.firstRecord == segment { state.rotateBeforeNextAppend = true }
                        return state.damagedSegments.insert(segment).inserted
                    }
                    if firstReport {
                        logger.error("write-ahead log: \(damage); the rest of the segment is passed over")
                    }
                    if result.next.number <= end - 1 { lost.append(result.next.number...(end - 1)) }
                    read.through = end - 1
                }
                return passedOver(lost, reading: read, handedOut: result.recordsBeforeLoss ?? result.records.count)
            }
        }
    }

    /// Reports the records `read` passed over (`lost`, in order), and returns what it hands out: all
    /// of `read`; or, with losses widened (``widenLossesToLastAppended()``), the `handedOut` records
    /// before the first lost one, and every record appended so far passed over with the lost ones.
    private func passedOver(_ lost: [ClosedRange<UInt64>], reading read: LoggedSamples, handedOut: Int)
        -> LoggedSamples
    {
        guard let first = lost.first, let last = lost.last else { return read }
        let widenedThrough = state.withLock { state -> UInt64? in
            guard let found = state.widenedLosses else { return nil }
            // Counted under the append lock: from now on connections that started before this loss
            // append nothing after the records passed over (``append(_:unlessLossesAfter:)``).
            state.widenedLosses = found + 1
            state.readCursor = nil
            return max(last.upperBound, state.lastAppended)
        }
        guard let through = widenedThrough else {
            for records in lost { reportLost(records) }
            return read
        }
        reportLost(first.lowerBound...through)
        return LoggedSamples(records: Array(read.records.prefix(handedOut)), through: through)
    }

    /// With `acknowledge = forwarded`: a loss the reader finds takes with it every record appended
    /// until then, forwarded or not. The agents send again what they hold unacknowledged, and
    /// the receiver gets each series in order: were the records after the loss forwarded first,
    /// their samples would be newer than the lost ones sent again, which a receiver refuses as out
    /// of order (audit 12, F02). Connections that started before the loss append nothing more
    /// (``append(_:unlessLossesAfter:)``): their agents send again too, after the records passed over.
    public func widenLossesToLastAppended() {
        state.withLock { $0.widenedLosses = $0.widenedLosses ?? 0 }
    }

    /// How many losses the reader found and widened so far: what a connection notes when it starts.
    public var losses: UInt64 { state.withLock { $0.widenedLosses ?? 0 } }

    /// Told, on the reader's thread and before ``records(after:limit:)`` returns, the numbers of
    /// records it passed over without handing them out: damaged, or in a segment that is gone.
    /// Whatever those held is lost to the reader; `acknowledge = forwarded` must not acknowledge it.
    public var onRecordsLost: (@Sendable (ClosedRange<UInt64>) -> Void)? {
        get { lostObserver.withLock { $0 } }
        set { lostObserver.withLock { $0 = newValue } }
    }

    private func reportLost(_ records: ClosedRange<UInt64>) {
        lostObserver.withLock { $0 }?(records)
    }

    /// How many records numbered after `number` the segments hold: what a reader from there will
    /// be handed, not the numbering's span, which counts the records of a segment that is gone.
    /// (Records passed over as damaged inside a segment keep their numbers and are counted.)
    public func recordsHeld(after number: UInt64) -> UInt64 {
        state.withLock { state in
            state.segments.reduce(0) { total, segment in
                let end = segment.firstRecord + UInt64(segment.records)
                return total + (end > number + 1 ? end - max(segment.firstRecord, number + 1) : 0)
            }
        }
    }

    /// With `acknowledge = forwarded`: from now on the bound never deletes a record after
    /// `number` until ``confirmed(upTo:)`` says the receiver has it (or gave it up for good);
    /// an append that would need that is refused for now instead (``FileOperationError/isFull``):
    /// the connection waits for room, and the agents keep their samples meanwhile.
    public func keepUnconfirmed(after number: UInt64) {
        state.withLock { $0.keptAfter = number }
    }

    /// The receiver confirmed every record up to `number`: the bound may delete them.
    public func confirmed(upTo number: UInt64) {
        state.withLock { state in
            if let keptAfter = state.keptAfter, number > keptAfter {
                state.keptAfter = number
                state.confirmations &+= 1
            }
        }
    }

    /// Changes each time a confirmation makes room under the bound (``confirmed(upTo:)``): an
    /// append refused as full (``FileOperationError/isFull``) is worth trying again once it has.
    public var confirmations: UInt64 { state.withLock { $0.confirmations } }

    static let fullReportInterval = Duration.seconds(60)
    static let backgroundSyncPeriod = Duration.seconds(1)

    /// Throws unless the configured directory is still the one this log holds: for whoever else
    /// writes into it (the forwarding position).
    public func verifyDirectory() throws(FileOperationError) {
        try lock.verify(directory)
    }

    /// The number of the last record appended: what a welcome waits for before it promises a last_seq.
    public var lastAppended: UInt64 { state.withLock { $0.lastAppended } }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.bytes = state.totalBytes
            statistics.segments = state.segments.count
            return statistics
        }
    }

    /// The fsync loop, on the sync thread: one fsync per round covers everything appended before
    /// the round began; rounds go on while someone waits for a later record.
    private func syncRounds() {
        while true {
            let (target, descriptor, retired, directoryChanged) = state.withLock {
                state -> (UInt64, Int32, [Int32], Bool) in
                // A duplicate, so that a rotation or a close on another thread cannot close (and the
                // kernel reuse) the descriptor while it is being synced.
                let descriptor = state.active >= 0 ? dup(state.active) : -1
                let taken = (state.lastAppended, descriptor, state.retired, state.directoryChanged)
                state.retired = []
                state.directoryChanged = false
                return taken
            }
            let started = ContinuousClock.now
            var failure: FileOperationError?
            for file in retired + (descriptor >= 0 ? [descriptor] : []) {
                if failure == nil, fsync(file) != 0 { failure = FileOperationError(directory, "fsync") }
                Glibc.close(file)
            }
            // Checked before the round's acknowledgements: records written to a directory that was
            // moved away are not where a restart reads (``WALDirectoryLock/verify(_:)``).
            if failure == nil {
                do throws(FileOperationError) { try lock.verify(directory) } catch { failure = error }
            }
            if failure == nil, directoryChanged {
                do throws(FileOperationError) { try DurableFiles.syncDirectory(directory) } catch { failure = error }
            }
            let seconds = (ContinuousClock.now - started).inSeconds
            typealias Waiters = [Completion]
            let (ready, failed, again) = state.withLock { state -> (Waiters, Waiters, Bool) in
                state.statistics.fsyncs += 1
                state.statistics.fsyncSeconds += seconds
                if let failure {
                    if state.broken == nil {
                        logger.critical(
                            "write-ahead log: \(failure); nothing more is acknowledged as durable until monitord is restarted"
                        )
                    }
                    state.broken = failure
                    let all = state.waiters.map(\.done)
                    state.waiters = []
                    state.syncing = false
                    return ([], all, false)
                }
                state.lastDurable = max(state.lastDurable, target)
                let ready = state.waiters.filter { $0.upTo <= target }.map(\.done)
                state.waiters.removeAll { $0.upTo <= target }
                let again = !state.waiters.isEmpty
                if !again { state.syncing = false }
                return (ready, [], again)
            }
            for waiter in ready { waiter(.success(())) }
            if let failure { for waiter in failed { waiter(.failure(failure)) } }
            guard again else { return }
        }
    }

    /// Starts a new segment whose first record is the next to be appended, with the checkpoint of
    /// every record before it. Its header and checkpoint are written to a temporary file, synced and
    /// renamed into place: a crash mid-rotation leaves no new segment or a whole one, both harmless
    /// on the next open.
    private func rotate(_ state: inout State) throws(FileOperationError) {
        try lock.verify(directory)
        let first = state.lastAppended + 1
        let name = WALFormat.segmentName(first)
        let path = directory + "/" + name
        forgetRetired(&state.checkpoint)
        let (start, agents) = WALFormat.start(firstRecord: first, checkpoint: state.checkpoint)
        if agents < state.checkpoint.agents.count {
            logger.warning(
                "write-ahead log: the checkpoint of \(name) holds the \(agents) most recently active of \(state.checkpoint.agents.count) agents (at most \(ByteSize.render(WALFormat.maximumCheckpointBytes))); the others' counters restart from the records left after a deletion by wal-max-size"
            )
        }
        try DurableFiles.replace(path, with: start, durable: true)
        let descriptor = try DurableFiles.openForAppend(path)
        if state.active >= 0 { state.retired.append(state.active) }
        state.active = descriptor
        state.directoryChanged = true
        state.rotateBeforeNextAppend = false
        // A rotation retried after a failed write may replace an empty segment of the same name.
        if state.segments.last?.name == name { state.segments.removeLast() }
        state.segments.append(
            Segment(name: name, firstRecord: first, records: 0, bytes: start.count, recordsStart: start.count))
    }

    private func dropOldestSegments(_ state: inout State, toFit bytes: Int) throws(FileOperationError) {
        var total = state.totalBytes
        while total + bytes > maximumBytes, state.segments.count > 1 {
            if let keptAfter = state.keptAfter, let oldest = state.segments.first, oldest.records > 0,
                oldest.firstRecord + UInt64(oldest.records) - 1 > keptAfter
            {
                throw FileOperationError(
                    directory,
                    refused:
                        "wal-max-size (\(ByteSize.render(maximumBytes))) is full of samples the remote-write receiver has not confirmed; with acknowledge = forwarded they are kept, and the agents' connections wait (their reads held, nothing acknowledged) until it catches up",
                    full: true
                )
            }
            let oldest = state.segments.removeFirst()
            total -= oldest.bytes
            state.statistics.droppedRecords += UInt64(oldest.records)
            if oldest.records > 0 { events?.dropped(oldest.firstRecord, UInt64(oldest.records)) }
            let path = directory + "/" + oldest.name
            logger.warning(
                "write-ahead log: over wal-max-size (\(ByteSize.render(maximumBytes))), deleted \(oldest.name) with \(oldest.records) records",
                metadata: ["file": "\(path)", "dropped": "\(state.statistics.droppedRecords)"])
            do throws(FileOperationError) {
                try DurableFiles.removeFile(path)
            } catch {
                logger.error("write-ahead log: \(error)")
            }
        }
    }
}
