import Testing

@testable import GatewayConfig
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorRemoteWrite

/// The queue's and the retry policy's rules, with time passed in explicitly.
@Suite struct RemoteWriteQueueTests {
    static func entry(_ n: Int, at time: Double) -> PendingSample {
        PendingSample(
            agent: "a", timestampMilliseconds: Int64(n),
            sample: Sample(
                sequence: UInt64(n), timestamp: nil, ramUsagePercent: 0, cpuUsagePercent: 0, processRAMGigabytes: 0,
                cpuInterrupts: 0),
            enqueuedAt: time)
    }

    @Test func aPartialBatchWaitsForTheFlushIntervalOfItsOldestSample() {
        var queue = RemoteWriteQueue(capacity: 100, batchSize: 10, flushInterval: 5)
        #expect(queue.takeBatch(now: 0) == nil)
        #expect(queue.deadline == nil)
        let firstReady = queue.append(Self.entry(1, at: 100))
        let secondReady = queue.append(Self.entry(2, at: 103))
        #expect(!firstReady && !secondReady)
        #expect(queue.deadline == 105)
        #expect(queue.takeBatch(now: 104.9) == nil)
        #expect(queue.takeBatch(now: 105)?.map(\.timestampMilliseconds) == [1, 2])
        #expect(queue.isEmpty)
    }

    @Test func aFullBatchIsDueAtOnceAndBatchesKeepArrivalOrder() {
        var queue = RemoteWriteQueue(capacity: 100, batchSize: 3, flushInterval: 60)
        var ready: [Bool] = []
        for n in 1...7 { ready.append(queue.append(Self.entry(n, at: 0))) }
        #expect(ready == [false, false, true, true, true, true, true])
        #expect(queue.takeBatch(now: 0)?.map(\.timestampMilliseconds) == [1, 2, 3])
        #expect(queue.takeBatch(now: 0)?.map(\.timestampMilliseconds) == [4, 5, 6])
        #expect(queue.takeBatch(now: 0) == nil, "one left, not yet due")
        #expect(queue.takeBatch(now: 0, force: true)?.map(\.timestampMilliseconds) == [7])
    }

    @Test func aFullQueueDropsTheOldestAndCountsThem() {
        var queue = RemoteWriteQueue(capacity: 4, batchSize: 2, flushInterval: 1)
        for n in 1...10 { _ = queue.append(Self.entry(n, at: Double(n))) }
        #expect(queue.count == 4)
        #expect(queue.dropped == 6)
        #expect(queue.deadline == 8, "the head is now sample 7, queued at 7")
        #expect(queue.takeBatch(now: 0)?.map(\.timestampMilliseconds) == [7, 8])
    }

    @Test func sizesComeFromTheConfigurationInSamplesOfFourSeries() throws {
        var configuration = RemoteWriteConfiguration(url: try RemoteWriteEndpoint.parse("http://h/x").get())
        configuration.queueCapacity = 1000
        configuration.maxSamplesPerSend = 10
        let queue = RemoteWriteQueue(configuration: configuration)
        #expect(queue.capacity == 250)
        #expect(queue.batchSize == 2)
        #expect(RemoteWriteQueue(capacity: 3, batchSize: 50, flushInterval: 1).batchSize == 3)
    }

    @Test func statusesAreDeliveredRetriedOrRefused() {
        #expect(RetryPolicy.classify(status: 204, detail: "") == .delivered)
        #expect(RetryPolicy.classify(status: 200, detail: "") == .delivered)
        #expect(RetryPolicy.classify(status: 429, detail: "slow down") == .retry("HTTP 429: slow down"))
        #expect(RetryPolicy.classify(status: 503, detail: "") == .retry("HTTP 503"))
        // A timeout at the receiver or a proxy before it says nothing about the samples (audit 12, F03).
        #expect(RetryPolicy.classify(status: 408, detail: "") == .retry("HTTP 408"))
        #expect(RetryPolicy.classify(status: 425, detail: "") == .retry("HTTP 425"))
        #expect(
            RetryPolicy.classify(status: 400, detail: "out of order sample")
                == .reject(400, "HTTP 400: out of order sample")
        )
        #expect(RetryPolicy.classify(status: 413, detail: "") == .reject(413, "HTTP 413"))
        #expect(RetryPolicy.classify(status: 409, detail: "") == .reject(409, "HTTP 409"))
    }

    /// A wrong URL or password refuses the request, not its samples: dropping them would lose, once
    /// the operator fixed the configuration, everything acknowledged meanwhile (audit 5, finding 01).
    @Test(arguments: [301, 302, 307, 308, 401, 403, 404, 405, 407])
    func refusalsOfTheRequestAreRetried(status: Int) {
        guard case .retry(let reason) = RetryPolicy.classify(status: status, detail: "") else {
            Issue.record("HTTP \(status) is not retried")
            return
        }
        #expect(reason.hasPrefix("HTTP \(status) (check the"), "the log line says what to fix: \(reason)")
    }

    @Test func statusesNoReceiverDefinesAreRetried() {
        #expect(RetryPolicy.classify(status: 100, detail: "") == .retry("HTTP 100"))
        #expect(RetryPolicy.classify(status: 600, detail: "") == .retry("HTTP 600"))
        #expect(RetryPolicy.classify(status: 0, detail: "") == .retry("HTTP 0"))
    }

    @Test func backoffDoublesUpToTheCapWithHalfOfItJittered() {
        let policy = RetryPolicy(minBackoff: 0.1, maxBackoff: 2)
        let low = (0..<8).map { policy.delay(attempt: $0, random: 0) }
        let high = (0..<8).map { policy.delay(attempt: $0, random: 0.999_999) }
        #expect(low.map { ($0 * 1000).rounded() } == [50, 100, 200, 400, 800, 1000, 1000, 1000])
        #expect(high.map { ($0 * 1000).rounded() } == [100, 200, 400, 800, 1600, 2000, 2000, 2000])
        #expect(policy.delay(attempt: 10_000, random: 0.5) == 1.5, "huge attempt counts neither trap nor overflow")
    }
}
