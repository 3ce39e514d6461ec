import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import GatewayConfig
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorRemoteWrite

/// The writer against a real HTTP server on loopback that answers with scripted statuses; the backoff
/// waits are recorded rather than waited, so retries are checked exactly and quickly.
@Suite struct RemoteWriterTests {
    final class SleepRecorder: Sendable {
        let values = Mutex<[Duration]>([])
    }

    static let logger = Logger(label: "remote-write-test") { _ in SwiftLogNoOpLogHandler() }

    final class Harness: Sendable {
        let receiver: ScriptedReceiver
        let writer: RemoteWriter
        /// The backoff waits the writer asked for, in order.
        let recorder = SleepRecorder()
        var sleeps: [Duration] { recorder.values.withLock { $0 } }

        init(
            script: [Int], port: Int? = nil, configure: (inout RemoteWriteConfiguration) -> Void = { _ in },
            refuses: (@Sendable (Prometheus_WriteRequest) -> Bool)? = nil
        ) async throws {
            receiver = try await ScriptedReceiver.start(script: script, refuses: refuses)
            let url = "http://127.0.0.1:\(port ?? receiver.port)/api/v1/write"
            var configuration = RemoteWriteConfiguration(url: try RemoteWriteEndpoint.parse(url).get())
            configuration.flushInterval = .milliseconds(20)
            configuration.timeout = .seconds(5)
            configure(&configuration)
            let recorder = self.recorder
            writer = RemoteWriter(
                configuration: configuration,
                transport: HTTPRemoteWriteTransport(
                    endpoint: configuration.url, authorization: "Bearer t0ken",
                    group: MultiThreadedEventLoopGroup.singleton),
                logger: RemoteWriterTests.logger,
                clock: SystemWallClock(),
                backoffSleep: { duration in
                    recorder.values.withLock { $0.append(duration) }
                    try await Task.sleep(for: .milliseconds(2))
                },
                random: { 0.5 }
            )
        }

        /// The family's value, summed over its labels (the dropped samples are counted by reason).
        func value(_ name: String) -> Double? {
            writer.families().first { $0.name == name }.map { $0.samples.reduce(0) { $0 + $1.value } }
        }

        /// `monitord_remote_write_samples_dropped_total{reason=...}`.
        func dropped(_ reason: String) -> Double? {
            writer.families().first { $0.name == "monitord_remote_write_samples_dropped_total" }?.samples.first {
                $0.labels == [MetricLabel(name: "reason", value: reason)]
            }?.value
        }
    }

    /// Sample `n`, taken `n` fifths of a second after 2023-11-14 (distinct milliseconds for remote write).
    static func sample(_ n: Int) -> Sample {
        makeSample(UInt64(n), at: 1_700_000_000 + Double(n) * 0.2)
    }

    static func waitUntil(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func retriesServerErrorsAndRateLimitsWithExponentialBackoffThenDelivers() async throws {
        let harness = try await Harness(script: [503, 429, 500, 204])
        for n in 1...3 { harness.writer.enqueue(Self.sample(n), agent: "web-1", now: 0) }
        let sender = Task { await harness.writer.run() }
        #expect(await Self.waitUntil { harness.receiver.requests.count == 4 })
        #expect(await Self.waitUntil { harness.value("monitord_remote_write_samples_sent_total") == 12 })
        sender.cancel()
        await sender.value
        let requests = harness.receiver.requests
        #expect(Set(requests.map(\.body)).count == 1, "the same batch, byte for byte, until it is stored")
        let policy = RetryPolicy(minBackoff: 0.1, maxBackoff: 10)
        let sleeps = harness.sleeps
        #expect(sleeps == (0..<3).map { .nanoseconds(Int64(policy.delay(attempt: $0, random: 0.5) * 1e9)) })
        #expect(harness.value("monitord_remote_write_samples_retried_total") == 36)
        #expect(harness.value("monitord_remote_write_samples_failed_total") == 0)
        #expect(
            harness.value("monitord_remote_write_last_success_timestamp_seconds")! > Date().timeIntervalSince1970 - 60)

        let head = try #require(requests.first?.head)
        #expect(head.method == .POST && head.uri == "/api/v1/write")
        #expect(head.headers["Content-Encoding"] == ["snappy"])
        #expect(head.headers["Content-Type"] == ["application/x-protobuf"])
        #expect(head.headers["X-Prometheus-Remote-Write-Version"] == ["0.1.0"])
        #expect(head.headers["User-Agent"] == ["monitord/\(MonitorVersion.current)"])
        #expect(head.headers["Authorization"] == ["Bearer t0ken"])
        let expected = RemoteWriteEncoder(externalLabels: [MetricLabel(name: "job", value: "monitord")]).body(
            for: (1...3).map {
                PendingSample(
                    agent: "web-1", timestampMilliseconds: 1_700_000_000_000 + Int64($0) * 200, sample: Self.sample($0),
                    enqueuedAt: 0)
            })
        #expect(requests[0].body == expected, "agent sampling times in ms, four series")
    }

    @Test func otherClientErrorsAreCountedAndNotRetried() async throws {
        let harness = try await Harness(script: [400, 204])
        let sender = Task { await harness.writer.run() }
        harness.writer.enqueue(Self.sample(1), agent: "a", now: 0)
        #expect(await Self.waitUntil { harness.value("monitord_remote_write_samples_failed_total") == 4 })
        harness.writer.enqueue(Self.sample(2), agent: "a", now: 0)
        #expect(await Self.waitUntil { harness.value("monitord_remote_write_samples_sent_total") == 4 })
        sender.cancel()
        await sender.value
        #expect(harness.receiver.requests.count == 2)
        let sleeps = harness.sleeps
        #expect(sleeps.isEmpty)
        #expect(harness.value("monitord_remote_write_samples_retried_total") == 0)
    }

    @Test func networkErrorsAreRetriedAndWhatIsLeftAtShutdownIsCountedAsDropped() async throws {
        let closedPort = try freePort()
        let harness = try await Harness(script: [], port: closedPort)
        harness.writer.enqueue(Self.sample(1), agent: "a", now: 0)
        harness.writer.enqueue(Self.sample(2), agent: "a", now: 0)
        let sender = Task { await harness.writer.run() }
        #expect(await Self.waitUntil { harness.sleeps.count >= 3 })
        #expect(harness.value("monitord_remote_write_samples_retried_total")! >= 24)
        sender.cancel()
        await sender.value
        #expect(harness.value("monitord_remote_write_samples_sent_total") == 0)
        #expect(harness.value("monitord_remote_write_samples_dropped_total") == 8)
        #expect(harness.value("monitord_remote_write_queue_length") == 0)
    }

    @Test func stoppingDeliversWhatIsStillQueued() async throws {
        let harness = try await Harness(script: []) { $0.flushInterval = .seconds(60) }
        let sender = Task { await harness.writer.run() }
        for n in 1...5 { harness.writer.enqueue(Self.sample(n), agent: "a", now: 0) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(harness.receiver.requests.isEmpty, "not due before the flush interval")
        #expect(harness.value("monitord_remote_write_queue_length") == 20)
        sender.cancel()
        await sender.value
        #expect(harness.receiver.requests.count == 1)
        #expect(harness.value("monitord_remote_write_samples_sent_total") == 20)
        #expect(harness.value("monitord_remote_write_samples_dropped_total") == 0)
    }

    @Test func enqueueNeverBlocksAndAFullQueueDropsTheOldest() async throws {
        let harness = try await Harness(script: []) { $0.queueCapacity = 8 }
        for n in 1...10 { harness.writer.enqueue(Self.sample(n), agent: "a", now: 0) }
        #expect(harness.value("monitord_remote_write_queue_length") == 8)
        #expect(harness.value("monitord_remote_write_samples_dropped_total") == 32)
        let sender = Task { await harness.writer.run() }
        #expect(await Self.waitUntil { harness.value("monitord_remote_write_samples_sent_total") == 8 })
        sender.cancel()
        await sender.value
        let decoded = try decodeBody(harness.receiver.requests[0].body)
        #expect(decoded.timeseries[0].samples.map(\.value) == [9, 10], "the newest two survived")
    }

    @Test func samplesInTheReportsFormatAreStampedWithTheirArrivalTime() async throws {
        let harness = try await Harness(script: [])
        var reportFormat = Self.sample(1)
        reportFormat.timestamp = nil
        harness.writer.enqueue(reportFormat, agent: "agent_1", now: 1_700_000_123.4567)
        let sender = Task { await harness.writer.run() }
        #expect(await Self.waitUntil { harness.receiver.requests.count == 1 })
        sender.cancel()
        await sender.value
        let decoded = try decodeBody(harness.receiver.requests[0].body)
        #expect(decoded.timeseries.allSatisfy { $0.samples.map(\.timestamp) == [1_700_000_123_457] })
    }

    /// A receiver refuses a whole request for one sample it will not take (Prometheus: 400 "out of
    /// bounds", nothing stored). The agents sharing the batch with that sample must not pay for it.
    @Test func aRefusedBatchIsSplitSoOnlyTheRefusedSamplesAreDropped() async throws {
        let harness = try await Harness(
            script: [], configure: { $0.flushInterval = .seconds(60) },
            refuses: { request in
                request.timeseries.contains { series in series.labels.contains { $0.value == "stale" } }
            })
        // 40 agent samples in one batch: one from the stale agent in the middle.
        for n in 1...40 { harness.writer.enqueue(Self.sample(n), agent: n == 23 ? "stale" : "agent-\(n % 5)", now: 0) }
        let sender = Task { await harness.writer.run() }
        sender.cancel()  // the final flush sends the queue at once
        await sender.value
        #expect(harness.value("monitord_remote_write_samples_sent_total") == 156)
        #expect(harness.dropped("refused") == 4)
        #expect(harness.value("monitord_remote_write_samples_failed_total") == 4)
        let stored = harness.receiver.requests.compactMap { try? decodeBody($0.body) }.filter { request in
            !request.timeseries.contains { series in series.labels.contains { $0.value == "stale" } }
        }
        let values = stored.flatMap { request in
            request.timeseries.filter { $0.labels[0].value == "process_ram_usage_percent" }.flatMap { $0.samples }
        }.map { $0.value }.sorted()
        #expect(values == (1...40).filter { $0 != 23 }.map(Double.init), "every other sample once")
        // Halving the six agents isolates the bad one in about 2·log2(6) requests, not 40.
        #expect(harness.receiver.requests.count <= 13, "\(harness.receiver.requests.count) requests")
    }

    /// One agent's samples are halved in time too: an agent back from an outage keeps the part of
    /// its replay the receiver takes.
    @Test func oneAgentsSamplesAreHalvedInTime() async throws {
        let harness = try await Harness(
            script: [], configure: { $0.flushInterval = .seconds(60) },
            refuses: { request in request.timeseries.contains { $0.samples.contains { $0.value == 3 } } })
        for n in 1...8 { harness.writer.enqueue(Self.sample(n), agent: "returning", now: 0) }
        let sender = Task { await harness.writer.run() }
        sender.cancel()
        await sender.value
        #expect(harness.dropped("refused") == 4)
        #expect(harness.value("monitord_remote_write_samples_sent_total") == 28)
    }

    /// A receiver that refuses everything (a 400 for any request) costs at most
    /// ``RemoteWriter/maximumSplitRequests`` split requests per batch, separating agents included: a
    /// few agents, and a fleet of 2,000 in one batch (which used to cost two requests per agent).
    @Test(arguments: [(samples: 500, agents: 10, maxSamplesPerSend: 2000), (2000, 2000, 8000)])
    func splittingIsBounded(samples: Int, agents: Int, maxSamplesPerSend: Int) async throws {
        // One batch of every sample (four series each).
        let harness = try await Harness(
            script: [],
            configure: {
                $0.flushInterval = .seconds(60)
                $0.maxSamplesPerSend = maxSamplesPerSend
            }, refuses: { _ in true })
        for n in 1...samples { harness.writer.enqueue(Self.sample(n), agent: "agent-\(n % agents)", now: 0) }
        // The batch is full, so due at once: sent by the running writer, not by the stop's drain,
        // whose 5 s grace a loaded machine can spend before the split ends (CI, 2026-12-02: 200 of 8,000).
        let sender = Task { await harness.writer.run() }
        let end = ContinuousClock.now + .seconds(120)
        while (harness.dropped("refused") ?? 0) < Double(samples * 4), ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(20))
        }
        sender.cancel()
        await sender.value
        #expect(harness.dropped("refused") == Double(samples * 4))
        #expect(harness.value("monitord_remote_write_samples_sent_total") == 0)
        #expect(harness.receiver.requests.count <= 1 + RemoteWriter.maximumSplitRequests)
    }

    /// A redirect, an authentication or a routing refusal is about the configuration, not the
    /// samples: the whole batch is retried, never split and never dropped, until the operator's fix
    /// lets it through.
    @Test func anUnauthorizedOrMisroutedBatchIsRetriedWholeUntilTaken() async throws {
        let harness = try await Harness(script: [401, 404, 307, 403, 204])
        for n in 1...20 { harness.writer.enqueue(Self.sample(n), agent: "agent-\(n % 4)", now: 0) }
        let sender = Task { await harness.writer.run() }
        #expect(await Self.waitUntil { harness.value("monitord_remote_write_samples_sent_total") == 80 })
        sender.cancel()
        await sender.value
        let requests = harness.receiver.requests
        #expect(requests.count == 5)
        #expect(Set(requests.map(\.body)).count == 1, "the same batch, byte for byte, until it is stored")
        #expect(harness.dropped("refused") == 0)
        #expect(harness.value("monitord_remote_write_samples_retried_total") == 320, "four refusals of 80 samples")
    }

    /// `max-sample-age`: what the receiver would refuse anyway is dropped before sending, counted as too old.
    @Test func samplesOlderThanTheMaximumAgeAreDroppedBeforeSending() async throws {
        let harness = try await Harness(script: []) {
            $0.flushInterval = .seconds(60)
            $0.maxSampleAge = .seconds(3600)
        }
        let now = Date().timeIntervalSince1970
        for n in 1...6 {
            var sample = Self.sample(n)
            sample.timestamp = n <= 2 ? now - 3 * 3600 + Double(n) : now - 10 + Double(n)
            harness.writer.enqueue(sample, agent: n <= 2 ? "returning" : "live", now: now)
        }
        let sender = Task { await harness.writer.run() }
        sender.cancel()
        await sender.value
        #expect(harness.dropped("too_old") == 8)
        #expect(harness.dropped("refused") == 0)
        #expect(harness.value("monitord_remote_write_samples_sent_total") == 16)
        #expect(harness.receiver.requests.count == 1)
    }

    /// How far behind forwarding is: the age of the oldest sample accepted and not yet delivered
    /// (queued, or in the batch being retried), by its arrival, so a replayed old sample does not
    /// look like a backlog; 0 once everything is delivered.
    @Test func theOldestUnforwardedSamplesAgeGrowsWhileTheReceiverIsDown() async throws {
        let closedPort = try freePort()
        let harness = try await Harness(script: [], port: closedPort)
        let name = "monitord_remote_write_oldest_unforwarded_age_seconds"
        #expect(harness.value(name) == 0)
        harness.writer.enqueue(Self.sample(1), agent: "a", now: 0)
        let sender = Task { await harness.writer.run() }
        #expect(await Self.waitUntil { harness.sleeps.count >= 2 }, "the batch is being retried")
        try await Task.sleep(for: .milliseconds(400))
        #expect((harness.value(name) ?? 0) >= 0.4, "the batch in flight still counts")
        sender.cancel()
        await sender.value

        let working = try await Harness(script: [])
        working.writer.enqueue(Self.sample(1), agent: "a", now: 0)
        try await Task.sleep(for: .milliseconds(200))
        #expect((working.value(name) ?? 0) >= 0.2, "queued, not yet sent")
        let delivering = Task { await working.writer.run() }
        #expect(await Self.waitUntil { working.value("monitord_remote_write_samples_sent_total") == 4 })
        #expect(working.value(name) == 0)
        delivering.cancel()
        await delivering.value
    }
}
