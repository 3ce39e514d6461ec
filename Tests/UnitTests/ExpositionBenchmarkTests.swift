import Testing

@testable import GatewayStore
@testable import MonitorModel

@Suite struct ExpositionBenchmarkTests {
    /// Renders 10,000 fresh agents (snapshot + page) and prints the time. No bound on it here: the time that
    /// matters, `/metrics` with 10,000 agents in the release build, is measured by scripts/bench.
    @Test func renderingTenThousandAgents() {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        for index in 0..<10_000 {
            let name = "host-\(index).example.org"
            _ = store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 1000)
            let sample = Sample(
                sequence: 1, timestamp: 999.123, ramUsagePercent: Double(index % 1000) / 10 + 0.05,
                cpuUsagePercent: Double(index % 997) / 9.7, processRAMGigabytes: 0.0092773 * Double(index % 7 + 1),
                cpuInterrupts: 706_148 + UInt64(index))
            _ = store.record(sample, agent: name, session: "s", now: 1000)
        }
        let clock = ContinuousClock()
        var size = 0
        var bestSnapshot = Duration.seconds(1000)
        var bestRender = Duration.seconds(1000)
        for _ in 0..<5 {
            var agents: [AgentSnapshot] = []
            bestSnapshot = min(bestSnapshot, clock.measure { agents = store.snapshot(now: 1000) })
            bestRender = min(bestRender, clock.measure { size = MetricsPage.render(store: agents, process: nil).count })
        }
        print("10,000 agents: snapshot \(bestSnapshot) + render \(bestRender) (best of 5), page \(size) bytes")
        #expect(size > 10_000 * 7 * 40)
    }
}
