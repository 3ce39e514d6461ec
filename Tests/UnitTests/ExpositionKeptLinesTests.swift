import Testing

@testable import GatewayStore
@testable import MonitorModel

/// `/metrics` assembled from lines kept between scrapes (``RenderedAgentLines``) must be the page
/// rendered afresh, byte for byte, whatever changed in between: samples, freshness, up, agents
/// arriving and forgotten, names that need escaping, both formats.
@Suite struct ExpositionKeptLinesTests {
    /// A deterministic generator, so that a failure repeats.
    struct Numbers {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func double() -> Double {
            switch below(6) {
            case 0: return Double(below(100))
            case 1: return .nan
            case 2: return Double(next()) / 3
            case 3: return -0.0
            default: return Double(below(1_000_000)) / 997
            }
        }
    }

    static let names = ["web-01", #"we"ird\name"# + "\nline", "db-ü", "agent_17", "z", "a-b-c", "__proto__"]

    func randomAgents(_ numbers: inout Numbers) -> [AgentSnapshot] {
        var agents: [AgentSnapshot] = []
        for name in Self.names where numbers.below(5) > 0 {
            let latest =
                numbers.below(4) == 0
                ? nil
                : Sample(
                    sequence: UInt64(numbers.below(3)), timestamp: numbers.double(),
                    ramUsagePercent: numbers.double(), cpuUsagePercent: numbers.double(),
                    processRAMGigabytes: numbers.double(), cpuInterrupts: numbers.next() << UInt64(numbers.below(12)))
            agents.append(
                AgentSnapshot(
                    name: name, dialect: .native, remoteAddress: "192.0.2.1:1", connected: numbers.below(2) == 0,
                    connectedSince: 1, lastSeen: numbers.below(3) == 0 ? nil : numbers.double(), latest: latest,
                    samplesReceived: UInt64(numbers.below(3)) << UInt64(numbers.below(64)),
                    up: numbers.below(2) == 0, fresh: numbers.below(3) > 0))
        }
        return agents
    }

    @Test("over 2,000 scrapes of a changing store, the kept page equals the page rendered afresh")
    func keptPageIsTheFreshPage() {
        var numbers = Numbers(state: 14)
        let lines = RenderedAgentLines()
        var previous: [AgentSnapshot] = []
        for scrape in 0..<2_000 {
            // Half the scrapes see the previous store again (nothing changed), or change only some agents.
            let agents: [AgentSnapshot]
            switch numbers.below(3) {
            case 0: agents = previous
            case 1: agents = previous.map { numbers.below(2) == 0 ? $0 : changed($0, &numbers) }
            default: agents = randomAgents(&numbers)
            }
            previous = agents
            let format: ExpositionFormat = numbers.below(2) == 0 ? .text : .openMetrics
            let extra = [MetricFamily(name: "monitord_x_total", help: "x", type: .counter, samples: [MetricSample(1)])]
            let fresh = MetricsPage.render(store: agents, process: nil, extra: extra, version: "1.2", format: format)
            let kept = MetricsPage.render(
                store: agents, process: nil, extra: extra, version: "1.2", format: format, keptIn: lines)
            #expect(
                String(decoding: kept, as: UTF8.self) == String(decoding: fresh, as: UTF8.self) && kept == fresh,
                "scrape \(scrape)")
            #expect(lines.count == agents.count, "forgotten agents must leave the kept lines")
            if kept != fresh { return }
        }
    }

    @Test("an unchanged agent's lines are reused, a changed one's rendered again")
    func onlyChangedAgentsAreRendered() {
        let sample = Sample(
            sequence: 1, timestamp: 10, ramUsagePercent: 1, cpuUsagePercent: 2, processRAMGigabytes: 3,
            cpuInterrupts: 4)
        let agent = AgentSnapshot(
            name: "a", dialect: .native, remoteAddress: "x", connected: true, connectedSince: 1, lastSeen: 10,
            latest: sample, samplesReceived: 1, up: true, fresh: true)
        let lines = RenderedAgentLines()
        let first = lines.entries(for: [agent])[0]
        let again = lines.entries(for: [agent])[0]
        #expect(
            first.bytes.withUnsafeBufferPointer { $0.baseAddress }
                == again.bytes.withUnsafeBufferPointer {
                    $0.baseAddress
                })
        var next = agent
        next.samplesReceived = 2
        let changed = lines.entries(for: [next])[0]
        #expect(changed.bytes != first.bytes)
    }

    private func changed(_ agent: AgentSnapshot, _ numbers: inout Numbers) -> AgentSnapshot {
        var agent = agent
        switch numbers.below(4) {
        case 0: agent.samplesReceived &+= 1
        case 1: agent.lastSeen = numbers.double()
        case 2: agent.latest?.ramUsagePercent = numbers.double()
        default:
            agent.up.toggle()
            agent.fresh.toggle()
        }
        return agent
    }
}
