import TestSupport
import Testing

@testable import GatewayStore
@testable import MonitorModel

private func snapshot(
    _ name: String, connected: Bool = true, lastSeen: Double? = 100, latest: Sample? = nil, received: UInt64 = 0,
    up: Bool = true, fresh: Bool = true
) -> AgentSnapshot {
    AgentSnapshot(
        name: name, dialect: .native, remoteAddress: "192.0.2.1:1", connected: connected, connectedSince: 50,
        lastSeen: lastSeen, latest: latest, samplesReceived: received, up: up, fresh: fresh)
}

private let reportSample = Sample(
    sequence: 4, timestamp: 99.5, ramUsagePercent: 58.4, cpuUsagePercent: 2.8, processRAMGigabytes: 0.00927734375,
    cpuInterrupts: 706148)

@Suite struct ExpositionPageTests {
    @Test func freshAgentExportsTheFourReportFamiliesWithTheReportsHelpTexts() {
        let page = ExpositionPage(
            MetricsPage.render(
                store: [snapshot("web-01", lastSeen: 99.5, latest: reportSample, received: 4)], process: nil))
        #expect(page.samples[#"process_ram_usage_percent{agent_number="web-01"}"#] == "58.4")
        #expect(page.samples[#"process_cpu_usage_percent{agent_number="web-01"}"#] == "2.8")
        #expect(page.samples[#"process_ram_gigabytes{agent_number="web-01"}"#] == "0.00927734375")
        #expect(page.samples[#"process_cpu_interrupts_total{agent_number="web-01"}"#] == "706148")
        #expect(page.samples[#"monitord_agent_up{agent_number="web-01"}"#] == "1")
        #expect(page.samples[#"monitord_agent_last_seen_timestamp_seconds{agent_number="web-01"}"#] == "99.5")
        #expect(page.samples[#"monitord_samples_received_total{agent_number="web-01"}"#] == "4")
        #expect(page.samples["monitord_agents"] == "1")
        #expect(page.samples[#"monitord_build_info{version="\#(MonitorVersion.current)"}"#] == "1")

        #expect(page.helps["process_ram_usage_percent"] == "usage of my ram")
        #expect(page.helps["process_cpu_usage_percent"] == "usage of my cpu in 4 seconds")
        #expect(page.helps["process_ram_gigabytes"] == "usage of my ram in current proccess")
        #expect(page.helps["process_cpu_interrupts_total"] == "number of cpu interrupts since boot")
        #expect(page.types["process_ram_usage_percent"] == "gauge")
        #expect(page.types["process_cpu_usage_percent"] == "gauge")
        #expect(page.types["process_ram_gigabytes"] == "gauge")
        #expect(page.types["process_cpu_interrupts_total"] == "counter")
        #expect(page.types["monitord_agent_up"] == "gauge")
        #expect(page.types["monitord_agent_last_seen_timestamp_seconds"] == "gauge")
        #expect(page.types["monitord_samples_received_total"] == "counter")
        #expect(page.types["monitord_agents"] == "gauge")
    }

    @Test func staleAgentKeepsOnlyItsSelfMetrics() {
        let stale = snapshot("old", connected: false, latest: reportSample, received: 9, up: false, fresh: false)
        let page = ExpositionPage(MetricsPage.render(store: [stale], process: nil))
        #expect(!page.samples.keys.contains { $0.hasPrefix("process_") })
        #expect(page.samples[#"monitord_agent_up{agent_number="old"}"#] == "0")
        #expect(page.samples[#"monitord_samples_received_total{agent_number="old"}"#] == "9")
        #expect(page.samples[#"monitord_agent_last_seen_timestamp_seconds{agent_number="old"}"#] == "100")
        // The families are still declared, so the page always has the same shape.
        #expect(page.types["process_ram_usage_percent"] == "gauge")
    }

    @Test func agentWithoutSampleHasNoLastSeen() {
        let page = ExpositionPage(
            MetricsPage.render(store: [snapshot("new", lastSeen: nil, fresh: false)], process: nil))
        #expect(page.samples[#"monitord_agent_up{agent_number="new"}"#] == "1")
        #expect(!page.samples.keys.contains { $0.hasPrefix("monitord_agent_last_seen") })
    }

    @Test func extraFamiliesAndProcessFiguresAreAppended() {
        let process = ProcessMetrics(
            cpuSecondsTotal: 1.25, residentBytes: 4096, virtualBytes: 8192, startTimeSeconds: 1_700_000_000.5,
            openFDs: 12, maxFDs: 1024)
        let refused = MetricFamily(
            name: "monitord_connections_refused_total", help: "Connections refused.", type: .counter,
            samples: [MetricSample(2, labels: ["reason": "limit"])])
        let page = ExpositionPage(MetricsPage.render(store: [], process: process, extra: [refused], version: "9.9"))
        #expect(page.samples[#"monitord_connections_refused_total{reason="limit"}"#] == "2")
        #expect(page.samples["process_cpu_seconds_total"] == "1.25")
        #expect(page.samples["process_resident_memory_bytes"] == "4096")
        #expect(page.samples["process_virtual_memory_bytes"] == "8192")
        #expect(page.samples["process_start_time_seconds"] == "1700000000.5")
        #expect(page.samples["process_open_fds"] == "12")
        #expect(page.samples["process_max_fds"] == "1024")
        #expect(page.types["process_cpu_seconds_total"] == "counter")
        #expect(page.samples[#"monitord_build_info{version="9.9"}"#] == "1")
        #expect(page.samples["monitord_agents"] == "0")
    }

    @Test func eachFamilyIsDeclaredOnceAndItsSamplesFollowIt() {
        let agents = [
            snapshot("a", latest: reportSample), snapshot("b", latest: reportSample), snapshot("c", fresh: false),
        ]
        let text = String(decoding: MetricsPage.render(store: agents, process: ProcessMetrics.current()), as: UTF8.self)
        var current = ""
        var declared: [String] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                current = String(line.dropFirst(7).split(separator: " ")[0])
                declared.append(current)
            } else if !line.hasPrefix("#") {
                #expect(line.hasPrefix(current + "{") || line.hasPrefix(current + " "), "\(line) outside \(current)")
            }
        }
        #expect(Set(declared).count == declared.count)
        #expect(text.hasSuffix("\n"))
    }
}
