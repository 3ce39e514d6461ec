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
        // What /metrics does: the page from the store's order and the kept lines, every agent
        // rendered (the first scrape), none, and one in a hundred (scrapes in quick succession).
        let lines = RenderedAgentLines()
        var kept: [UInt8] = []
        let first = clock.measure {
            kept = MetricsPage.render(from: store, now: 1000, keptIn: lines, process: nil)
        }
        var unchanged = Duration.seconds(1000)
        var hundredth = Duration.seconds(1000)
        for round in 0..<5 {
            unchanged = min(
                unchanged,
                clock.measure { kept = MetricsPage.render(from: store, now: 1000, keptIn: lines, process: nil) })
            for index in stride(from: round, to: 10_000, by: 100) {
                let sample = Sample(
                    sequence: UInt64(2 + round), timestamp: 999.5, ramUsagePercent: 1, cpuUsagePercent: 2,
                    processRAMGigabytes: 3, cpuInterrupts: 4)
                _ = store.record(sample, agent: "host-\(index).example.org", session: "s", now: 1000)
            }
            hundredth = min(
                hundredth,
                clock.measure { kept = MetricsPage.render(from: store, now: 1000, keptIn: lines, process: nil) })
        }
        print(
            "10,000 agents, kept lines: all rendered \(first), none \(unchanged), 100 rendered \(hundredth) (best of 5)"
        )
        #expect(kept == MetricsPage.render(store: store.snapshot(now: 1000), process: nil))
    }
}
