import Synchronization
import Testing

@testable import GatewayKit
@testable import GatewayStore
@testable import MonitorModel
@testable import MonitorProtocol
@testable import MonitorRemoteWrite

/// Audit 8, finding 01: a sample whose `ts` is further ahead than `clock-skew-tolerance` is kept,
/// acknowledged and forwarded with the time of arrival; that time must never be behind (or equal
/// to) the agent's newest timestamp, or the forwarder drops the sample as out of order after the
/// agent was told it was kept.
@Suite("Clock skew: clamped samples keep their agent's timestamps increasing")
struct ClockSkewClampTests {
    static let now = 1_700_000_000.0

    func hello(session: String = "0123456789abcdef") -> [UInt8] {
        ProtocolCodec.encode(
            AgentMessage.hello(Hello(protocolVersion: 1, agent: "skewed", agentVersion: "1.0.0", session: session)))
    }

    /// What remote write is fed: every sample kept as new, in order.
    final class Forwarded: Sendable {
        let samples = Mutex<[Sample]>([])
        var all: [Sample] { samples.withLock { $0 } }
    }

    func peer(store: AgentStore, forwarded: Forwarded, tolerance: Duration = .seconds(60)) -> PeerSession {
        PeerSession(
            store: store, remoteAddress: "127.0.0.1:4000", allowReportFormatAgents: false,
            clockSkewTolerance: tolerance,
            onNewSample: { sample, _, _ in forwarded.samples.withLock { $0.append(sample) } })
    }

    /// A store, what it forwards, and a session of agent "skewed" that said hello at `now`.
    func connected(tolerance: Duration = .seconds(60)) -> (AgentStore, Forwarded, PeerSession) {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600), clockSkewTolerance: tolerance)
        let forwarded = Forwarded()
        var session = peer(store: store, forwarded: forwarded, tolerance: tolerance)
        _ = session.receive(hello(), now: Self.now)
        return (store, forwarded, session)
    }

    /// The forwarder's own check: how many of `samples` it would drop as out of order.
    static func outOfOrder(_ samples: [Sample], now: Double) -> Int {
        var order = SeriesOrderGuard()
        let pending = samples.map { sample in
            PendingSample(
                agent: "skewed", timestampMilliseconds: Int64(((sample.timestamp ?? 0) * 1000).rounded()),
                sample: sample, enqueuedAt: now)
        }
        return order.filter(pending, now: now).rejected
    }

    static func milliseconds(_ samples: [Sample]) -> [Int64] {
        samples.map { Int64((($0.timestamp ?? 0) * 1000).rounded()) }
    }

    static func isStrictlyIncreasing(_ values: [Int64]) -> Bool {
        zip(values, values.dropFirst()).allSatisfy { $0 < $1 }
    }

    @Test("a clock 10 min ahead replays 200 samples in one burst: all 200 forwarded, distinct and increasing")
    func burstReplayOfClampedSamples() throws {
        let (store, forwarded, connectedSession) = connected()
        var session = connectedSession
        for sequence in 1...200 {
            let ahead = Self.now + 600 + Double(sequence) * 5
            #expect(session.receive(sampleLine(UInt64(sequence), at: ahead), now: Self.now) == .none)
        }
        #expect(session.takePendingAck() == .ack(sequence: 200))
        let samples = forwarded.all
        #expect(samples.count == 200)
        let times = Self.milliseconds(samples)
        #expect(Self.isStrictlyIncreasing(times), "clamped timestamps collapse: \(Set(times).count) distinct")
        #expect(times.first == Int64(Self.now * 1000), "the first clamped sample takes its arrival time")
        #expect((times.last ?? 0) <= Int64(Self.now * 1000) + 199, "a millisecond apart, not further ahead")
        #expect(Self.outOfOrder(samples, now: Self.now) == 0, "acknowledged samples dropped as out of order")
        let latest = try #require(store.snapshot(now: Self.now).first?.latest)
        #expect(latest.sequence == 200 && latest.timestamp == samples.last?.timestamp)
    }

    @Test("a clock drifting from 50 s ahead (kept) to 70 s ahead (clamped): no clamped sample falls behind")
    func driftAcrossTheToleranceBoundary() {
        let (_, forwarded, connectedSession) = connected()
        var session = connectedSession
        var sequence: UInt64 = 0
        var arrival = Self.now
        for (ahead, count) in [(50.0, 20), (70.0, 30)] {
            for _ in 0..<count {
                sequence += 1
                arrival += 0.1
                _ = session.receive(sampleLine(sequence, at: arrival + ahead), now: arrival)
            }
        }
        let samples = forwarded.all
        #expect(samples.count == 50)
        #expect(Self.isStrictlyIncreasing(Self.milliseconds(samples)), "\(Self.milliseconds(samples))")
        #expect(Self.outOfOrder(samples, now: arrival) == 0, "clamped samples dropped as out of order")
        #expect(samples.allSatisfy { ($0.timestamp ?? 0) <= arrival + 60.1 }, "nothing beyond the tolerance")
    }

    @Test("kept 2 ms inside the tolerance, then a burst beyond it: the chain goes past the tolerance, in order")
    func burstAfterASampleAtTheToleranceEdge() {
        // Audit 10, finding F1: the chain stopped following the newest time once that passed
        // `now + tolerance`, so the third clamped sample of the burst went back to `now` and was
        // dropped as out of order after being acknowledged.
        let (_, forwarded, connectedSession) = connected()
        var session = connectedSession
        _ = session.receive(sampleLine(1, at: Self.now + 59.998), now: Self.now)
        for sequence: UInt64 in 2...6 {
            _ = session.receive(sampleLine(sequence, at: Self.now + 120), now: Self.now)
        }
        #expect(session.takePendingAck() == .ack(sequence: 6))
        let samples = forwarded.all
        #expect(samples.count == 6)
        let times = Self.milliseconds(samples)
        #expect(times == (0..<6).map { Int64(Self.now * 1000) + 59_998 + Int64($0) }, "\(times)")
        #expect(Self.outOfOrder(samples, now: Self.now) == 0, "acknowledged samples dropped as out of order")
    }

    @Test("with a tolerance of 0, a burst of clamped samples in one millisecond still gets distinct times")
    func zeroToleranceBurst() {
        let (_, forwarded, connectedSession) = connected(tolerance: .zero)
        var session = connectedSession
        for sequence: UInt64 in 1...50 {
            _ = session.receive(sampleLine(sequence, at: Self.now + 5), now: Self.now)
        }
        let times = Self.milliseconds(forwarded.all)
        #expect(times == (0..<50).map { Int64(Self.now * 1000) + Int64($0) }, "\(times)")
    }

    @Test("a flood of clamped samples faster than 1 per ms: the chain stops at twice the tolerance plus 1 s")
    func floodIsBoundedAtTwiceTheTolerance() {
        // With a 1 s tolerance, 4,000 clamped samples in the same instant would be stamped up to
        // 4 s ahead; the chain is followed to `now + 2 × tolerance + 1 s` only, then the arrival.
        let (_, forwarded, connectedSession) = connected(tolerance: .seconds(1))
        var session = connectedSession
        for sequence: UInt64 in 1...4_000 {
            _ = session.receive(sampleLine(sequence, at: Self.now + 600), now: Self.now)
        }
        let times = Self.milliseconds(forwarded.all)
        #expect(times.count == 4_000)
        let start = Int64(Self.now * 1000)
        #expect(times.allSatisfy { $0 <= start + 3_000 }, "stamped beyond the bound: \(times.max() ?? 0)")
        let broken = times.prefix(3_001).enumerated().first { $0.element != start + Int64($0.offset) }
        #expect(broken == nil, "the chain up to the bound breaks at sample \(broken?.offset ?? 0)")
    }

    @Test("after a restart the rule starts from the agent's newest timestamp restored from the log")
    func restoredStateOrdersTheFirstClampedSample() {
        var checkpoint = LogCheckpoint()
        let ahead = Self.now + 50
        for sequence: UInt64 in 1...3 {
            checkpoint.add(
                WALRecord(
                    agent: "skewed", session: "0123456789abcdef", arrival: Self.now + Double(sequence),
                    sample: makeSample(sequence, at: ahead + Double(sequence))))
        }
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
        store.restore(checkpoint)
        let forwarded = Forwarded()
        var session = peer(store: store, forwarded: forwarded)
        _ = session.receive(hello(), now: Self.now + 10)
        _ = session.receive(sampleLine(4, at: Self.now + 10 + 600), now: Self.now + 10)
        let samples = forwarded.all
        #expect(samples.count == 1)
        #expect(
            (samples.first?.timestamp ?? 0) > ahead + 3,
            "stamped \(samples.first?.timestamp ?? 0), not after the restored \(ahead + 3)")
    }
}
