import Foundation
import Logging
import NIOPosix
import Testing

@testable import GatewayConfig
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorRemoteWrite

/// How fast one writer forwards: encode, compress, POST over loopback, in 2000-sample requests.
///
/// Against the scripted receiver by default (measures monitord's side alone); set
/// `MONITORD_RW_BENCH_URL=http://127.0.0.1:9090/api/v1/write` to measure into a real receiver.
@Suite struct RemoteWriteThroughputTests {
    @Test func forwardsEveryQueuedSampleAndPrintsTheRate() async throws {
        let receiver = try await ScriptedReceiver.start(script: [])
        let url = ProcessInfo.processInfo.environment["MONITORD_RW_BENCH_URL"] ?? "http://127.0.0.1:\(receiver.port)/w"
        var configuration = RemoteWriteConfiguration(url: try RemoteWriteEndpoint.parse(url).get())
        configuration.queueCapacity = 1_000_000
        let writer = RemoteWriter(
            configuration: configuration, group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        let agents = 1000
        let rounds = 25
        let start = Date().timeIntervalSince1970.rounded() - 3600
        for round in 0..<rounds {
            for agent in 0..<agents {
                let sample = Sample(
                    sequence: UInt64(round + 1), timestamp: start + Double(round) * 5, ramUsagePercent: Double(agent),
                    cpuUsagePercent: 12.5, processRAMGigabytes: 0.0093, cpuInterrupts: UInt64(706_148 + round))
                writer.enqueue(sample, agent: "host-\(agent)", now: 0)
            }
        }
        let total = Double(agents * rounds * 4)
        let clock = ContinuousClock()
        let began = clock.now
        let sender = Task { await writer.run() }
        var sent = 0.0
        while sent < total, clock.now - began < .seconds(120) {
            try await Task.sleep(for: .milliseconds(5))
            sent =
                writer.families().first { $0.name == "monitord_remote_write_samples_sent_total" }?.samples[0].value ?? 0
        }
        let seconds = (clock.now - began).inSeconds
        sender.cancel()
        await sender.value
        let rate = total / seconds
        print("remote-write throughput: \(Int(total)) samples in \(seconds) s = \(Int(rate)) samples/s to \(url)")
        // The rate is printed, not bounded: a unit test on shared cores cannot tell a regression from load.
        #expect(sent == total)
    }
}
