import Foundation
import TestSupport
import Testing

/// The real Prometheus tools against live output: SPEC's promtool rule and a real scrape.
@Suite("Prometheus")
struct PrometheusTests {
    @Test("promtool check metrics accepts live output, but for SPEC's one known exception")
    func promtool() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-promtool", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let report = try startReportAgent(port: gateway.agentPort)
            defer { report.signal(SIGKILL) }
            #expect(
                await eventually {
                    let page = try gateway.metrics()
                    return page.value("process_ram_usage_percent", agent: "e2e-promtool") != nil
                        && page.value("process_ram_usage_percent", agent: "agent_1") != nil
                })
            let body = try gateway.metrics().text
            let complaints = try Promtool.complaints(body)
            #expect(complaints == [Promtool.acceptedComplaint], "promtool said: \(complaints)\n\(body)")
        }
    }

    @Test("a real Prometheus scrapes monitord and its query API returns the four families")
    func prometheusScrapes() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-scraped", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let prometheus = try PrometheusServer.scraping(metricsPort: gateway.metricsPort)
            defer { prometheus.stop() }
            for family in MetricsPage.reportFamilies {
                let found = await prometheus.ingests(family, agent: "e2e-scraped")
                #expect(found, "\(family) not in Prometheus: \(prometheus.recentOutput)")
            }
        }
    }
}
