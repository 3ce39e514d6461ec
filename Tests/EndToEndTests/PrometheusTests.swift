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

    @Test("Accept-Encoding: gzip gets the same page gzipped, which promtool accepts; HEAD and plain GETs are not")
    func gzip() async throws {
        try await withGateway { gateway in
            let agent = try await gateway.startAgentAndAwaitSamples(named: "e2e-gzip")
            defer { agent.process.signal(SIGKILL) }
            let url = "http://127.0.0.1:\(gateway.metricsPort)/metrics"
            // Prometheus's header; --compressed decodes what comes (alone, curl would also offer deflate).
            let zipped = try await Curl.run(["--compressed", "-H", "Accept-Encoding: gzip", url])
            #expect(zipped.exitCode == 0 && zipped.status == 200)
            #expect(zipped.headers.lowercased().contains("content-encoding: gzip"), "\(zipped.headers)")
            #expect(zipped.headers.lowercased().contains("vary: accept-encoding"), "\(zipped.headers)")
            let complaints = try Promtool.complaints(zipped.body)
            #expect(complaints == [Promtool.acceptedComplaint], "promtool said: \(complaints)\n\(zipped.body)")
            // The same series as the plain page (values move between two scrapes: the gateway's own figures).
            let plain = try await Curl.run([url])
            #expect(!plain.headers.lowercased().contains("content-encoding"), "\(plain.headers)")
            func series(_ page: String) -> [Substring] {
                page.split(separator: "\n").map { $0.split(separator: " ").dropLast().joined(separator: " ")[...] }
            }
            #expect(series(zipped.body) == series(plain.body))
            // A HEAD asking for gzip gets the head alone: a compressed empty body would break the framing.
            let head = try HTTPClient.exchange(
                port: gateway.metricsPort,
                request: "HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            #expect(head.status == 200 && head.body.isEmpty && head.headers["content-encoding"] == nil)
        }
    }

    @Test("a real Prometheus scrapes monitord and its query API returns the four families")
    func prometheusScrapes() async throws {
        try await withScrapedAgent(named: "e2e-scraped") { _, prometheus in
            for family in ExpositionPage.reportFamilies {
                let found = await prometheus.ingests(family, agent: "e2e-scraped")
                #expect(found, "\(family) not in Prometheus: \(prometheus.recentOutput)")
            }
        }
    }
}
