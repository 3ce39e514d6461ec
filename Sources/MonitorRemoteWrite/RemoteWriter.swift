import DaemonKit
public import GatewayConfig
public import GatewayStore
public import Logging
public import MonitorModel
import MonitorSystem
public import NIOCore
import NIOSSL
import Synchronization

/// Forwards every sample the gateway accepts to a remote-write 1.0 receiver, in the background.
///
/// Connections hand samples to ``enqueue(_:agent:now:)``, which never blocks and never waits for the
/// network: it appends to a bounded queue (dropping the oldest when full). ``run()`` is the one sender:
/// it takes a batch when enough samples wait or the oldest has waited `flush-interval`, sends it, and
/// retries that same batch until it is stored or refused before taking the next. One request in flight
/// keeps every series in time order, which receivers require; one sender handles thousands of agents
/// because a batch carries thousands of samples.
///
/// A receiver refuses a whole request for one sample it will not take (Prometheus answers 400 "out of
/// bounds" and stores nothing), so a refused batch is split, each part sent the same way, until the
/// refused samples stand alone: only they are dropped, not the other agents' samples beside them.
/// Agents are separated first (halving the set of agents: one agent's samples never share a part
/// with another's once refused), then one agent's samples are halved in time, while
/// ``maximumSplitRequests`` lasts; once it is spent, a refused part is dropped whole. A receiver that
/// refuses everything (a 400 for any request) so costs at most that many requests per batch, not two
/// per agent of the fleet.
///
/// With a write-ahead log (``forward(from:)``), native agents' samples are not queued in memory:
/// the sender reads them back from the log, a batch at a time, in record order, and after each
/// batch is stored or given up records on disk how far it got. A restart resumes after that
/// position, so what was unsent then is sent, and only the batch in flight at the kill is sent
/// again. The log is the queue: it is bounded by `wal-max-size` (records it deletes unread are
/// counted as `wal_full`), not by `queue-capacity`, which then bounds only the report format's
/// samples (the log does not hold them).
public final class RemoteWriter: Sendable {
    /// After the gateway is told to stop, how long the sender may spend delivering what is queued.
    public static let shutdownGrace: Duration = .seconds(5)
    /// The most requests one refused batch may cost in splitting. Halving singles out one agent among
    /// 10,000 in about 2·14 requests, and a few bad samples among thousands in about 2·log2(batch)
    /// each, so a few refused agents per batch cost nobody else a sample.
    public static let maximumSplitRequests = 256

    private struct Shared: Sendable {
        var queue: RemoteWriteQueue
        /// When the oldest sample of the batch being sent (and retried) arrived; nil between batches.
        var sendingSince: Double?
        /// The agent samples of the batch being sent (and retried): not delivered yet, so still counted
        /// as waiting (after a restart, the whole backlog may be that one batch).
        var sendingCount = 0
        /// The sender, parked until there is work (see ``waitForWork(knownDeadline:)``).
        var waiter: CheckedContinuation<Void, Never>?
        /// Forwarding from the write-ahead log, when there is one.
        var log: LogFeed?
        /// Each agent's newest sample sent before this start (from the log), until the sender's
        /// order guard takes them.
        var sentBeforeStart: [String: Int64]?

        /// The batch being sent is delivered or given up.
        mutating func finishedSending() {
            sendingSince = nil
            sendingCount = 0
        }

        /// A full batch waits, in the queue or in the log.
        var hasFullBatch: Bool {
            queue.count >= queue.batchSize
                || (log.map { !$0.readBroughtNothing && $0.unread >= UInt64(queue.batchSize) } ?? false)
        }

        /// When the next partial batch becomes due, of the queue's and the log's.
        var deadline: Double? {
            let logDeadline = log.flatMap { log in
                log.waitingSince.map { log.backlogDue ? $0 : $0 + queue.flushInterval }
            }
            guard let queued = queue.deadline else { return logDeadline }
            return min(queued, logDeadline ?? queued)
        }
    }

    /// How far the sender has read the write-ahead log.
    private struct LogFeed: Sendable {
        let source: any ForwardingLog
        /// The last record read into memory (being sent), passed over, or counted as lost.
        var read: UInt64
        /// The last record the log holds.
        var appended: UInt64
        /// When records began to wait unread (the writer's clock), for the flush interval; nil when none waits.
        var waitingSince: Double?
        /// When forwarding from the log began (this start): records that arrived before it have
        /// waited, for the oldest unforwarded age, since then.
        let since: Double
        /// What a restart left unsent is due at once, before the flush interval has passed.
        var backlogDue = false
        /// The last read brought nothing although records wait (the log unreadable, say): the next is
        /// due a flush interval after it (``waitingSince``), full batch or not, so that a failing log
        /// is retried once per flush interval instead of in a loop that takes a core.
        var readBroughtNothing = false

        var unread: UInt64 { appended > read ? appended - read : 0 }

        func isDue(now: Double, batchSize: Int, flushInterval: Double, force: Bool) -> Bool {
            guard unread > 0, let waitingSince else { return false }
            let waited = now >= waitingSince + flushInterval
            if readBroughtNothing { return force || waited }
            return force || backlogDue || unread >= UInt64(batchSize) || waited
        }
    }

    /// One request's worth of samples, and for a batch read from the log, the last record number it
    /// covers: confirmed once the batch is stored or given up.
    private struct Batch: Sendable {
        var samples: [PendingSample]
        var through: UInt64?
    }

    private let shared: Mutex<Shared>
    private let counters = RemoteWriteCounters()
    private let transport: any RemoteWriteTransport
    private let encoder: RemoteWriteEncoder
    private let policy: RetryPolicy
    private let timeout: Duration
    private let endpoint: String
    private let logger: Logger
    private let clock: any WallClock
    /// Waits between retries; tests pass one that records the delays instead of waiting.
    private let backoffSleep: @Sendable (Duration) async throws -> Void
    /// Uniform in 0..<1, for the jitter.
    private let random: @Sendable () -> Double
    private let setupError: RemoteWriteSetupError?
    /// `max-sample-age` in seconds, or nil: samples older than this are dropped before sending.
    private let maxSampleAge: Double?
    private let dropLog = Mutex(DropLog())
    /// The last failure to record the forwarding position, so that a full disk is logged once.
    private let confirmFailure = Mutex<String?>(nil)
    /// Failures to read the log, at most one line every 10 s: a log that cannot be read (its
    /// directory deleted, say) fails again at every flush interval, and would flood the journal.
    private let readFailureLog = LogThrottle<ReadFailure>(limit: 1, window: .seconds(10))

    private enum ReadFailure: Hashable, Sendable {
        case writeAheadLog
    }

    /// A writer for `configuration`. Never fails, so the gateway can hold it from its start; a
    /// credentials file that has become unreadable since the configuration was checked is reported by
    /// ``checkSetup()``, which the gateway calls before it announces readiness.
    public convenience init(
        configuration: RemoteWriteConfiguration,
        group: any EventLoopGroup,
        logger: Logger,
        clock: any WallClock = SystemWallClock()
    ) {
        var authorization: String?
        var setupError: RemoteWriteSetupError?
        var tls: NIOSSLContext?
        do {
            authorization = try RemoteWriteAuthorization.header(for: configuration)
        } catch {
            setupError = RemoteWriteSetupError(description: "[remote-write] credentials: \(error.message)")
        }
        do {
            tls = try TLSContexts.remoteWriteClient(configuration)
        } catch {
            setupError = RemoteWriteSetupError(description: "[remote-write] TLS: \(error)")
        }
        self.init(
            configuration: configuration,
            transport: HTTPRemoteWriteTransport(
                endpoint: configuration.url, authorization: authorization, tenantID: configuration.tenantID, tls: tls,
                serverName: configuration.tlsServerName, group: group),
            logger: logger,
            clock: clock,
            backoffSleep: { try await Task.sleep(for: $0) },
            random: { Double.random(in: 0..<1) },
            setupError: setupError
        )
    }

    init(
        configuration: RemoteWriteConfiguration,
        transport: any RemoteWriteTransport,
        logger: Logger,
        clock: any WallClock,
        backoffSleep: @escaping @Sendable (Duration) async throws -> Void,
        random: @escaping @Sendable () -> Double,
        setupError: RemoteWriteSetupError? = nil
    ) {
        self.setupError = setupError
        self.shared = Mutex(Shared(queue: RemoteWriteQueue(configuration: configuration)))
        self.transport = transport
        self.encoder = RemoteWriteEncoder(externalLabels: configuration.externalLabels)
        self.policy = RetryPolicy(configuration: configuration)
        self.timeout = configuration.timeout
        self.maxSampleAge = configuration.maxSampleAge?.inSeconds
        self.endpoint = "\(configuration.url)"
        self.logger = logger
        self.clock = clock
        self.backoffSleep = backoffSleep
        self.random = random
    }

    /// Throws if the writer cannot work as configured (an unreadable credentials file), so that the
    /// gateway refuses to start rather than forward nothing while looking healthy.
    public func checkSetup() throws(RemoteWriteSetupError) {
        if let setupError { throw setupError }
    }

    /// Queues one accepted sample of `agent` (its `agent_number`). Stamped with the agent's sampling
    /// time, or `now` (arrival) when the sample has none (the report's format). Never blocks on the network.
    public func enqueue(_ sample: Sample, agent: String, now: Double) {
        guard let milliseconds = PendingSample.milliseconds(sample.timestamp ?? now) else { return }
        let entry = PendingSample(
            agent: agent,
            timestampMilliseconds: milliseconds,
            sample: sample,
            enqueuedAt: clock.now()
        )
        let waiter = shared.withLock { shared -> CheckedContinuation<Void, Never>? in
            let batchReady = shared.queue.append(entry)
            // Wake the sender for a full batch, or for a first sample (it must learn the new deadline).
            guard batchReady || shared.queue.count == 1 else { return nil }
            defer { shared.waiter = nil }
            return shared.waiter
        }
        waiter?.resume()
    }

    /// Reads native agents' samples from `log` from now on, after its confirmed position.
    public func forward(from log: any ForwardingLog) {
        let (confirmed, appended) = (log.confirmed, log.lastAppended)
        let now = clock.now()
        shared.withLock { shared in
            // What a restart left unsent is due at once; it has waited since now.
            let backlog = appended > confirmed
            shared.log = LogFeed(
                source: log, read: confirmed, appended: appended, waitingSince: backlog ? now : nil, since: now,
                backlogDue: backlog)
            shared.sentBeforeStart = log.newestForwarded.compactMapValues(PendingSample.milliseconds)
        }
    }

    /// The log holds records up to `number`; wakes the sender for a first record or a full batch.
    public func logAppended(upTo number: UInt64) {
        let waiter = shared.withLock { shared -> CheckedContinuation<Void, Never>? in
            guard var log = shared.log, number > log.appended else { return nil }
            let first = log.unread == 0
            log.appended = number
            if first { log.waitingSince = clock.now() }
            shared.log = log
            guard first || log.unread >= UInt64(shared.queue.batchSize) else { return nil }
            defer { shared.waiter = nil }
            return shared.waiter
        }
        waiter?.resume()
    }

    /// The log's bound deleted records `first..<first + count`: those not read yet are lost, counted
    /// and logged; those being sent still go.
    public func logDropped(first: UInt64, count: UInt64) {
        guard count > 0 else { return }
        let last = first + (count - 1)
        let lost = shared.withLock { shared -> UInt64 in
            guard var log = shared.log, last > log.read else { return 0 }
            let lost = last - max(log.read, first - 1)
            log.read = last
            if log.unread == 0 { log.waitingSince = nil }
            shared.log = log
            return lost
        }
        guard lost > 0 else { return }
        drop(Int(clamping: lost), .walFull, records: (last - lost + 1)...last)
    }

    /// The writer's self-metrics, for `/metrics`.
    public func families() -> [MetricFamily] {
        let (queued, dropped, oldest) = shared.withLock { shared in
            (
                UInt64(shared.queue.count) + (shared.log?.unread ?? 0) + UInt64(shared.sendingCount),
                shared.queue.dropped,
                shared.sendingSince ?? shared.queue.oldestEnqueuedAt ?? shared.log?.waitingSince
            )
        }
        return counters.families(
            queuedSamples: Int(clamping: queued) &* PendingSample.seriesPerSample,
            droppedByQueue: dropped * UInt64(PendingSample.seriesPerSample),
            oldestUnforwardedAge: oldest.map { max(0, clock.now() - $0) } ?? 0)
    }

    /// The sender; returns when its task is cancelled, after trying for ``shutdownGrace`` to deliver what
    /// is queued (a sample acknowledged to an agent is then not lost by a clean restart).
    public func run() async {
        logger.info("remote write enabled", metadata: ["url": "\(endpoint)"])
        var order = SeriesOrderGuard()
        var unfinished: Batch?
        var preferQueue = false
        while !Task.isCancelled {
            guard let batch = nextBatch(force: false, preferQueue: &preferQueue) else {
                logDrops(dropLog.withLock { $0.due(now: clock.now()) })
                await waitForWork(knownDeadline: shared.withLock { $0.deadline })
                continue
            }
            // Samples the agents send again after a restart (acks lag behind the receiver, and a loss
            // asks for everything unacknowledged) must not go behind what was sent before it: a
            // stock Prometheus refuses them, and a batch of them would be split until the budget
            // drops new samples with them (audit 14, F02).
            let sentBeforeStart = shared.withLock { shared in
                defer { shared.sentBeforeStart = nil }
                return shared.sentBeforeStart
            }
            if let sentBeforeStart { order.seed(sentBeforeStart) }
            let kept = prepare(batch.samples, order: &order)
            if !kept.isEmpty {
                var budget = Self.maximumSplitRequests
                let left = await deliver(kept, retrying: true, budget: &budget)
                shared.withLock { $0.finishedSending() }
                if let left {
                    unfinished = Batch(samples: left, through: batch.through)
                    break
                }
            } else {
                shared.withLock { $0.finishedSending() }
            }
            if let through = batch.through { confirm(upTo: through) }
        }
        // Shielded from the cancellation that brought us here, and bounded by shutdownGrace.
        let drain = Task { [order, unfinished] in await self.drain(unfinished: unfinished, order: order) }
        await drain.value
    }

    /// The next batch due (or, with `force`, any waiting): from the log and the in-memory queue in
    /// turn when both have one, so that neither starves the other. Nil when none is due.
    private func nextBatch(force: Bool, preferQueue: inout Bool) -> Batch? {
        while true {
            let now = clock.now()
            let (logAfter, queued) = shared.withLock { shared -> (UInt64?, [PendingSample]?) in
                let queue = shared.queue
                let logDue = shared.log.flatMap { log in
                    log.isDue(now: now, batchSize: queue.batchSize, flushInterval: queue.flushInterval, force: force)
                        ? log.read : nil
                }
                if let logDue, !preferQueue || !(force ? !queue.isEmpty : queue.isDue(now: now)) {
                    return (logDue, nil)
                }
                let batch = shared.queue.takeBatch(now: now, force: force)
                shared.sendingSince = batch?.first?.enqueuedAt
                shared.sendingCount = batch?.count ?? 0
                return (batch == nil ? logDue : nil, batch)
            }
            if let queued {
                preferQueue = false
                return Batch(samples: queued, through: nil)
            }
            guard let logAfter else { return nil }
            preferQueue = true
            switch readLog(after: logAfter) {
            case .batch(let batch): return batch
            case .movedOn: continue
            case .nothing: return nil
            }
        }
    }

    private enum LogRead {
        case batch(Batch)
        /// The bound deleted what was being read meanwhile (counted); read again from where it left.
        case movedOn
        /// Nothing could be read (an error, logged): tried again after the flush interval.
        case nothing
    }

    /// Reads the batch of log records after `after`. Only the sender reads and moves the read
    /// position forward, but the bound may move it meanwhile: then what was read is not used.
    private func readLog(after: UInt64) -> LogRead {
        guard let source = shared.withLock({ $0.log?.source }) else { return .nothing }
        let batchSize = shared.withLock { $0.queue.batchSize }
        var read: LoggedSamples?
        do {
            read = try source.read(after: after, limit: batchSize)
        } catch {
            if case .log(let suppressed) = readFailureLog.check(.writeAheadLog) {
                var metadata: Logger.Metadata = ["url": "\(endpoint)"]
                if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
                logger.error(
                    "remote write: cannot read the write-ahead log: \(error); trying again after flush-interval (logged at most every 10 s)",
                    metadata: metadata)
            }
        }
        return shared.withLock { shared -> LogRead in
            guard var log = shared.log, log.read == after else { return .movedOn }
            guard let read, read.through > after else {
                // Try again once the flush interval has passed, not at once.
                log.waitingSince = clock.now()
                log.readBroughtNothing = true
                log.backlogDue = false
                shared.log = log
                return .nothing
            }
            log.read = read.through
            log.readBroughtNothing = false
            log.backlogDue = false
            if log.unread == 0 { log.waitingSince = nil }
            shared.log = log
            var samples: [PendingSample] = []
            samples.reserveCapacity(read.records.count)
            for record in read.records {
                let seconds = record.sample.timestamp ?? record.arrival
                guard let milliseconds = PendingSample.milliseconds(seconds) else { continue }
                // A record from before this start has waited since the start (the log's age rule).
                samples.append(
                    PendingSample(
                        agent: record.agent, timestampMilliseconds: milliseconds,
                        sample: record.sample, enqueuedAt: max(record.arrival, log.since)))
            }
            shared.sendingSince = samples.first?.enqueuedAt
            shared.sendingCount = samples.count
            return .batch(Batch(samples: samples, through: read.through))
        }
    }

    /// Records on disk that the log's records up to `number` are done with; a failure is logged
    /// once (a restart then sends more again, it loses nothing).
    private func confirm(upTo number: UInt64) {
        guard let source = shared.withLock({ $0.log?.source }) else { return }
        do {
            try source.confirm(upTo: number)
            if confirmFailure.withLock({ $0 }) != nil {
                confirmFailure.withLock { $0 = nil }
                logger.notice("remote write: recording the forwarding position again")
            }
        } catch {
            let text = "\(error)"
            let first = confirmFailure.withLock { failure in
                defer { failure = text }
                return failure != text
            }
            if first {
                logger.error(
                    "remote write: cannot record the forwarding position: \(text); a restart sends again what was forwarded since",
                    metadata: ["url": "\(endpoint)"])
            }
        }
    }

    /// Drops the samples older than `max-sample-age`, then those that would move a series back in time.
    private func prepare(_ batch: [PendingSample], order: inout SeriesOrderGuard) -> [PendingSample] {
        var batch = batch
        if let maxSampleAge {
            let horizon = (clock.now() - maxSampleAge) * 1000
            let before = batch.count
            batch.removeAll { Double($0.timestampMilliseconds) < horizon }
            drop(
                before - batch.count, .tooOld,
                detail: Duration.milliseconds(Int64(maxSampleAge * 1000)).configurationText)
        }
        let (kept, rejected) = order.filter(batch, now: clock.now())
        drop(rejected, .outOfOrder, detail: "")
        return kept
    }

    /// Counts `agentSamples` (four remote-write samples each) as dropped, and logs it, throttled.
    private func drop(
        _ agentSamples: Int, _ reason: DropReason, detail: String = "", records: ClosedRange<UInt64>? = nil
    ) {
        guard agentSamples > 0 else { return }
        let samples = agentSamples * PendingSample.seriesPerSample
        counters.addDropped(samples, reason: reason)
        let line = dropLog.withLock {
            $0.record(samples, reason: reason, detail: detail, records: records, now: clock.now())
        }
        logDrops(line.map { [$0] } ?? [])
    }

    private func logDrops(_ lines: [DropLog.Line]) {
        for line in lines {
            logger.warning(
                "remote write \(line.text)",
                metadata: ["url": "\(endpoint)", "reason": "\(line.reason.rawValue)"])
        }
    }

    /// Sends `batch` until the receiver stores or refuses it; a refused batch of more than one agent
    /// sample is split in halves, each delivered the same way, while `budget` (requests) lasts, so
    /// that only the samples refused on their own are dropped. Returns nil once every sample is stored
    /// or dropped, or the samples still undelivered (in order) if the task was cancelled during a retry
    /// wait, or, with `retrying` false (the final flush), at the first retryable failure or once the
    /// `deadline` (clock seconds) has passed.
    private func deliver(
        _ batch: [PendingSample], retrying: Bool, deadline: Double? = nil, budget: inout Int
    ) async -> [PendingSample]? {
        let body = encoder.body(for: batch)
        let samples = batch.count * PendingSample.seriesPerSample
        var attempt = 0
        while true {
            var attemptTimeout = timeout
            if let deadline {
                let left = deadline - clock.now()
                guard left > 0 else { return batch }
                attemptTimeout = min(timeout, .milliseconds(Int64(left * 1000)))
            }
            let outcome: RetryPolicy.Outcome
            do {
                let response = try await transport.post(body, timeout: attemptTimeout)
                outcome = RetryPolicy.classify(status: response.status, detail: response.detail)
            } catch {
                outcome = .retry(NetworkErrorText.describe(error))
            }
            switch outcome {
            case .delivered:
                counters.addSent(samples, at: clock.now())
                if attempt > 0 {
                    logger.notice(
                        "remote write recovered after \(attempt) retr\(attempt == 1 ? "y" : "ies")",
                        metadata: ["url": "\(endpoint)"])
                }
                return nil
            case .reject(_, let reason):
                guard let (first, second) = split(batch, budget: &budget) else {
                    drop(batch.count, .refused, detail: reason)
                    return nil
                }
                logger.debug(
                    "remote write: \(samples) samples refused together, sending them in two parts: \(reason)",
                    metadata: ["url": "\(endpoint)"])
                if let left = await deliver(first, retrying: retrying, deadline: deadline, budget: &budget) {
                    return left + second
                }
                return await deliver(second, retrying: retrying, deadline: deadline, budget: &budget)
            case .retry(let reason):
                guard retrying else {
                    logger.error(
                        "remote write: giving up at stop after a failed attempt: \(reason)",
                        metadata: ["url": "\(endpoint)"])
                    return batch
                }
                let delay = policy.delay(attempt: attempt, random: random())
                // The first failure and every tenth after it: enough to see an outage without flooding the journal.
                logger.log(
                    level: attempt % 10 == 0 ? .warning : .debug,
                    "remote write failed (attempt \(attempt + 1)), retrying in \(Int(delay * 1000)) ms: \(reason)",
                    metadata: ["url": "\(endpoint)"])
                counters.addRetried(samples)
                attempt += 1
                do {
                    try await backoffSleep(.nanoseconds(Int64(delay * 1e9)))
                } catch {
                    return batch
                }
            }
        }
    }

    /// The two parts a refused batch is sent again as, or nil when it cannot be split further or
    /// `budget` (requests) is spent: the agents in two halves (each agent's samples in order, in one
    /// part), or, for one agent, its samples halved in time.
    private func split(_ batch: [PendingSample], budget: inout Int) -> ([PendingSample], [PendingSample])? {
        guard batch.count > 1, budget >= 2 else { return nil }
        budget -= 2
        var agents: [String] = []
        var seen: Set<String> = []
        for entry in batch where seen.insert(entry.agent).inserted { agents.append(entry.agent) }
        if agents.count > 1 {
            let firstHalf = Set(agents[..<(agents.count / 2)])
            return (batch.filter { firstHalf.contains($0.agent) }, batch.filter { !firstHalf.contains($0.agent) })
        }
        let middle = batch.count / 2
        return (Array(batch[..<middle]), Array(batch[middle...]))
    }

    /// The final flush at shutdown: one attempt per request, stopping at the first failure or at the grace
    /// period's end; whatever remains of the queue is counted as dropped and logged (what remains of
    /// the log stays there, for the next start).
    private func drain(unfinished: Batch?, order: SeriesOrderGuard) async {
        var order = order
        let deadline = clock.now() + Self.shutdownGrace.inSeconds
        var pending = unfinished
        var undelivered: Batch?
        var preferQueue = false
        while true {
            if let batch = pending {
                var budget = Self.maximumSplitRequests
                let left =
                    batch.samples.isEmpty
                    ? nil : await deliver(batch.samples, retrying: false, deadline: deadline, budget: &budget)
                shared.withLock { $0.finishedSending() }
                if let left {
                    undelivered = Batch(samples: left, through: batch.through)
                    break
                }
                if let through = batch.through { confirm(upTo: through) }
            }
            guard clock.now() < deadline, let batch = nextBatch(force: true, preferQueue: &preferQueue) else { break }
            pending = Batch(samples: prepare(batch.samples, order: &order), through: batch.through)
        }
        var left = undelivered?.through == nil ? undelivered?.samples.count ?? 0 : 0
        while let batch = shared.withLock({ $0.queue.takeBatch(now: clock.now(), force: true) }) { left += batch.count }
        let inLog =
            shared.withLock { $0.log?.unread ?? 0 }
            + UInt64(undelivered?.through == nil ? 0 : undelivered?.samples.count ?? 0)
        if inLog > 0 {
            logger.notice(
                "remote write: \(inLog) agent samples not yet forwarded stay in the write-ahead log for the next start",
                metadata: ["url": "\(endpoint)"])
        }
        if left > 0 {
            counters.addDropped(left * PendingSample.seriesPerSample, reason: .shutdown)
            logger.error(
                "remote write: \(left * PendingSample.seriesPerSample) queued samples not delivered before stopping",
                metadata: ["url": "\(endpoint)"])
        }
        logDrops(dropLog.withLock { $0.due(now: clock.now(), all: true) }.filter { $0.reason != .shutdown })
        let queueFull = shared.withLock { $0.queue.dropped } * UInt64(PendingSample.seriesPerSample)
        let drops = DropReason.allCases.map { reason in
            "\(reason.rawValue) \(reason == .queueFull ? queueFull : counters.samplesDropped(reason))"
        }
        logger.notice(
            "remote write stopped: \(counters.samplesSent) samples sent, \(counters.samplesRetried) retried, dropped: \(drops.joined(separator: ", "))",
            metadata: ["url": "\(endpoint)"])
    }

    /// Parks the sender until an enqueue wakes it or the current batch's deadline passes. Returns at once
    /// if work arrived between the sender's look at the queue and this call, so no wake-up is lost.
    private func waitForWork(knownDeadline: Double?) async {
        let delay = knownDeadline.map { max(0, $0 - clock.now()) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(knownDeadline: knownDeadline) }
            if let delay {
                group.addTask { try? await Task.sleep(for: .nanoseconds(Int64(delay * 1e9))) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(knownDeadline: Double?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = shared.withLock { shared in
                    let changed = shared.hasFullBatch || shared.deadline != knownDeadline
                    if changed || Task.isCancelled { return true }
                    shared.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = shared.withLock { shared in
                defer { shared.waiter = nil }
                return shared.waiter
            }
            waiter?.resume()
        }
    }
}

/// The writer cannot start (a credentials file vanished since the configuration was checked).
public struct RemoteWriteSetupError: Error, CustomStringConvertible {
    public var description: String
}

extension RemoteWriter: SampleForwarder {}
