import Foundation
import TestSupport
import Testing

/// Audit 8, finding 01, against Debian's Prometheus: samples stamped further ahead than
/// `clock-skew-tolerance` are acknowledged, so every one must reach the receiver, with distinct,
/// increasing timestamps, also when they follow samples kept a little ahead and when monitord was
/// SIGKILLed in between (the agent's newest time then comes from the write-ahead log).
@Suite("Clock skew: clamped samples reach a real receiver", .serialized)
struct ClockSkewForwardingTests {
    static let agent = "e2e-skewed"
    static let session = "0123456789abcdef"

    /// Sends samples `sequences`, each stamped `ahead` seconds after the moment it is sent (plus
    /// `spacing` seconds per sample, as a replayed buffer is), and waits for the last one's ack.
    static func send(_ sequences: ClosedRange<Int>, ahead: Double, spacing: Double, port: Int) throws {
        let peer = try HostilePeer(port: port)
        defer { peer.close() }
        try peer.send(line: HostileMessages.hello(agent: "\"\(agent)\"", session: "\"\(session)\""))
        _ = peer.nextLine(timeout: 10)
        let now = Date().timeIntervalSince1970
        var burst: [UInt8] = []
        for sequence in sequences {
            let time = now + ahead + Double(sequence - sequences.lowerBound) * spacing
            burst += Array(HostileMessages.sample(seq: "\(sequence)", ts: "\(time)", interrupts: "\(sequence)").utf8)
            burst.append(10)
        }
        try peer.send(burst)
        var acknowledged = 0
        while acknowledged < sequences.upperBound, let line = peer.nextLine(timeout: 10) {
            if let sequence = HostileMessages.acknowledgedSequence(line) { acknowledged = sequence }
        }
        #expect(acknowledged == sequences.upperBound, "acknowledged up to \(acknowledged)")
    }

    @Test("kept 50 s ahead, then a burst 10 min ahead, then SIGKILL and more: every acknowledged sample arrives")
    func clampedSamplesAllArriveAcrossARestart() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        let configuration = LogForwardingCrashTests.configuration(receiver: receiver, directory: directory)
        let first = try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
        let selector = "process_cpu_interrupts_total{agent_number=\"\(Self.agent)\"}"
        // Queried as of a few minutes ahead: samples kept a little ahead are in Prometheus' future.
        let horizon = Date().timeIntervalSince1970 + 300

        try Self.send(1...20, ahead: 50, spacing: 0.01, port: first.agentPort)
        try Self.send(21...220, ahead: 600, spacing: 5, port: first.agentPort)
        #expect(await eventually(timeout: 30) { try receiver.samples(selector, at: horizon).count == 220 })
        first.process.signal(SIGKILL)
        _ = await first.process.waitForExit(timeout: 10)

        let second = try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
        try Self.send(221...230, ahead: 600, spacing: 5, port: second.agentPort)
        #expect(await eventually(timeout: 30) { try receiver.samples(selector, at: horizon).count == 230 })
        let page = try second.metrics()
        await second.stop()

        let samples = try receiver.samples(selector, at: horizon)
        let times = samples.map(\.0)
        #expect(samples.map(\.1) == (1...230).map(Double.init), "every acknowledged sample, in order")
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "distinct, increasing timestamps")
        for reason in ["out_of_order", "refused"] {
            #expect(
                LogForwardingCrashTests.total(page, "monitord_remote_write_samples_dropped_total", reason: reason) == 0,
                "\(reason)")
        }
    }
}
