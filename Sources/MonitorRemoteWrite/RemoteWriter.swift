import DaemonKit
public import GatewayStore
public import Logging
public import MonitorConfig
public import MonitorModel
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
public final class RemoteWriter: Sendable {
    /// After the gateway is told to stop, how long the sender may spend delivering what is queued.
    public static let shutdownGrace: Duration = .seconds(5)

    private struct Shared: Sendable {
        var queue: RemoteWriteQueue
        /// The sender, parked until there is work (see ``waitForWork(knownDeadline:)``).
        var waiter: CheckedContinuation<Void, Never>?
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
        let seconds = sample.timestamp ?? now
        guard seconds.isFinite, abs(seconds) < 9e15 else { return }  // Int64 milliseconds
        let entry = PendingSample(
            agent: agent,
            timestampMilliseconds: Int64((seconds * 1000).rounded()),
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

    /// The writer's self-metrics, for `/metrics`.
    public func families() -> [MetricFamily] {
        let (queued, dropped) = shared.withLock { ($0.queue.count, $0.queue.dropped) }
        return counters.families(
            queuedSamples: queued * PendingSample.seriesPerSample,
            droppedByQueue: dropped * UInt64(PendingSample.seriesPerSample))
    }

    /// The sender; returns when its task is cancelled, after trying for ``shutdownGrace`` to deliver what
    /// is queued (a sample acknowledged to an agent is then not lost by a clean restart).
    public func run() async {
        logger.info("remote write enabled", metadata: ["url": "\(endpoint)"])
        var order = SeriesOrderGuard()
        var unfinished: (body: [UInt8], samples: Int)?
        while !Task.isCancelled {
            let (batch, deadline) = shared.withLock { shared in
                (shared.queue.takeBatch(now: clock.now()), shared.queue.deadline)
            }
            guard let batch else {
                await waitForWork(knownDeadline: deadline)
                continue
            }
            guard let (body, samples) = prepare(batch, order: &order) else { continue }
            if await !deliver(body, samples: samples, retrying: true) {
                unfinished = (body, samples)
                break
            }
        }
        // Shielded from the cancellation that brought us here, and bounded by shutdownGrace.
        let drain = Task { [order, unfinished] in await self.drain(unfinished: unfinished, order: order) }
        await drain.value
    }

    /// Filters out samples that would move a series back in time, and encodes the rest.
    private func prepare(_ batch: [PendingSample], order: inout SeriesOrderGuard) -> (body: [UInt8], samples: Int)? {
        let (kept, rejected) = order.filter(batch, now: clock.now())
        if rejected > 0 {
            counters.addFailed(rejected * PendingSample.seriesPerSample)
            logger.warning(
                "remote write: skipped \(rejected) sample(s) not newer than their agent's last forwarded sample",
                metadata: ["url": "\(endpoint)"])
        }
        guard !kept.isEmpty else { return nil }
        return (encoder.body(for: kept), kept.count * PendingSample.seriesPerSample)
    }

    /// Sends one body until the receiver stores or refuses it. Returns false only if the task was
    /// cancelled while the batch was still undelivered. With `retrying` false, one attempt is made and a
    /// retryable failure counts the samples as dropped.
    private func deliver(
        _ body: [UInt8], samples: Int, retrying: Bool, timeout attemptTimeout: Duration? = nil
    ) async -> Bool {
        var attempt = 0
        while true {
            let outcome: RetryPolicy.Outcome
            do {
                let response = try await transport.post(body, timeout: attemptTimeout ?? timeout)
                outcome = RetryPolicy.classify(status: response.status, detail: response.detail)
            } catch {
                outcome = .retry("\(error)")
            }
            switch outcome {
            case .delivered:
                counters.addSent(samples, at: clock.now())
                if attempt > 0 {
                    logger.notice(
                        "remote write recovered after \(attempt) retr\(attempt == 1 ? "y" : "ies")",
                        metadata: ["url": "\(endpoint)"])
                }
                return true
            case .reject(let reason):
                counters.addFailed(samples)
                logger.error(
                    "remote write refused \(samples) samples, not retrying: \(reason)", metadata: ["url": "\(endpoint)"]
                )
                return true
            case .retry(let reason):
                guard retrying else {
                    counters.addDropped(samples)
                    logger.error(
                        "remote write: \(samples) samples not delivered before stopping: \(reason)",
                        metadata: ["url": "\(endpoint)"])
                    return true
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
                    return false
                }
            }
        }
    }

    /// The final flush at shutdown: one attempt per batch, stopping at the first failure or at the grace
    /// period's end; whatever remains is counted as dropped and logged.
    private func drain(unfinished: (body: [UInt8], samples: Int)?, order: SeriesOrderGuard) async {
        var order = order
        let deadline = clock.now() + Self.shutdownGrace.inSeconds
        func remaining() -> Duration { .milliseconds(Int64(max(0, deadline - clock.now()) * 1000)) }
        var healthy = true
        if let unfinished {
            healthy = await deliverOnce(unfinished.body, samples: unfinished.samples, timeout: remaining())
        }
        while healthy, clock.now() < deadline {
            guard let batch = shared.withLock({ $0.queue.takeBatch(now: clock.now(), force: true) }) else { break }
            guard let (body, samples) = prepare(batch, order: &order) else { continue }
            healthy = await deliverOnce(body, samples: samples, timeout: remaining())
        }
        var left = 0
        while let batch = shared.withLock({ $0.queue.takeBatch(now: clock.now(), force: true) }) { left += batch.count }
        if left > 0 {
            counters.addDropped(left * PendingSample.seriesPerSample)
            logger.error(
                "remote write: \(left * PendingSample.seriesPerSample) queued samples not delivered before stopping",
                metadata: ["url": "\(endpoint)"])
        }
        let dropped = shared.withLock { $0.queue.dropped } * UInt64(PendingSample.seriesPerSample)
        logger.notice(
            "remote write stopped: \(counters.samplesSent) samples sent, \(counters.samplesFailed) failed, \(counters.samplesRetried) retried, \(dropped &+ counters.samplesDroppedElsewhere) dropped",
            metadata: ["url": "\(endpoint)"])
    }

    /// One attempt; whether the receiver answered with a final status (so the next batch is worth trying).
    private func deliverOnce(_ body: [UInt8], samples: Int, timeout: Duration) async -> Bool {
        let before = counters.samplesDroppedElsewhere
        _ = await deliver(body, samples: samples, retrying: false, timeout: timeout)
        return counters.samplesDroppedElsewhere == before
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
                    let changed =
                        shared.queue.count >= shared.queue.batchSize || shared.queue.deadline != knownDeadline
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
