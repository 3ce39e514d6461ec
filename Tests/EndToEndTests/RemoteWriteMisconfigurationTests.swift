import Foundation
import TestSupport
import Testing

/// A wrong remote-write URL is an operator's mistake, not the samples' fault: with a write-ahead log,
/// what the gateway acknowledged while the URL was wrong reaches the receiver once it is fixed. Debian's
/// Prometheus answers a trailing slash with a redirect (307) and a wrong path with 404; both once made
/// monitord drop every sample as "refused" (audit 5, finding 01).
@Suite("Remote write: a wrong URL loses nothing", .serialized)
struct RemoteWriteMisconfigurationTests {
    private typealias Log = LogForwardingCrashTests

    @Test(
        "samples acknowledged while the URL is wrong arrive after the fix, once each",
        arguments: ["/api/v1/write/", "/api/v1/writ"])
    func wrongURLHoldsTheSamples(path: String) async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        let wrong = Log.configuration(receiver: receiver, directory: directory)
            .replacingOccurrences(of: receiver.writeURL, with: "http://127.0.0.1:\(receiver.port)\(path)")
        let first = try await GatewayProcess.start(extraConfiguration: wrong, directory: directory)
        let agent = try AgentProcess.start(name: "e2e-wrongurl", gatewayPort: first.agentPort, interval: "100ms")
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 20) {
                (try first.metrics().value("monitord_samples_received_total", agent: "e2e-wrongurl") ?? 0) >= 30
            })
        let during = try first.metrics()
        #expect(Log.total(during, "monitord_remote_write_samples_sent_total") == 0)
        #expect(Log.total(during, "monitord_remote_write_samples_dropped_total", reason: "refused") == 0)
        #expect((Log.total(during, "monitord_remote_write_queue_length") ?? 0) >= 4 * 20, "the samples wait")
        #expect(first.process.output.contains("check the url"), "the log says what to fix")
        await first.stop()

        // The operator fixes the URL and restarts monitord.
        let fixed = Log.configuration(receiver: receiver, directory: directory)
        let second = try await GatewayProcess.start(
            agentPort: first.agentPort, metricsPort: first.metricsPort, extraConfiguration: fixed,
            directory: directory)
        try await Task.sleep(for: .seconds(2))
        await agent.stop()  // Returns once the agent has said "every sample delivered".
        #expect(
            await eventually(timeout: 30) {
                Log.total(try second.metrics(), "monitord_remote_write_queue_length") == 0
            })
        // The log restored the first run's counts: this is every sample the agent took.
        let page = try second.metrics()
        let taken = try #require(page.value("monitord_samples_received_total", agent: "e2e-wrongurl"))
        #expect(Log.total(page, "monitord_remote_write_samples_dropped_total", reason: "refused") == 0)
        await second.stop()
        let samples = try receiver.samples("process_ram_usage_percent{agent_number=\"e2e-wrongurl\"}")
        let times = samples.map(\.0)
        print("remote write to \(path) fixed by a restart: agent took \(Int(taken)), Prometheus has \(samples.count)")
        #expect(samples.count == Int(taken), "every sample, acknowledged while the URL was wrong or after")
        #expect(Set(times).count == times.count, "each timestamp once")
    }
}
