import Foundation
import TestSupport
import Testing

/// OpenMetrics by content negotiation, read by parsers nobody here wrote: prometheus_client's
/// (PyPI) and Debian's Prometheus.
@Suite("OpenMetrics")
struct OpenMetricsTests {
    static let openMetricsAccept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"

    /// Parses `text` with `prometheus_client.openmetrics.parser` and prints `family type sample...` lines.
    func parseWithPrometheusClient(_ text: String) throws -> (ok: Bool, output: String) {
        let dir = try makeTemporaryDirectory()
        try text.write(toFile: dir + "/page.txt", atomically: true, encoding: .utf8)
        let script = """
            import sys
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                print(family.name, family.type, family.unit or "-", " ".join(sorted({s.name for s in family.samples})))
            """
        try script.write(toFile: dir + "/parse.py", atomically: true, encoding: .utf8)
        let process = try RunningProcess(
            executable: "/usr/bin/env", arguments: ["python3", dir + "/parse.py", dir + "/page.txt"], name: "om-parser")
        process.process.waitUntilExit()
        return (process.process.terminationStatus == 0, process.output)
    }

    @Test("Accept: OpenMetrics gets OpenMetrics 1.0.0 that prometheus_client parses; no Accept gets 0.0.4")
    func negotiatedAndParsed() async throws {
        try await withGateway { gateway in
            let agent = try await gateway.startAgentAndAwaitSamples(named: "e2e-om")
            defer { agent.process.signal(SIGKILL) }
            let request =
                "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: \(Self.openMetricsAccept)\r\nConnection: close\r\n\r\n"
            let response = try HTTPClient.exchange(port: gateway.metricsPort, request: request)
            #expect(response.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            #expect(response.body.hasSuffix("# EOF\n"))
            let (ok, output) = try parseWithPrometheusClient(response.body)
            #expect(ok, "prometheus_client refused it: \(output)\n\(response.body)")
            let lines = Set(output.split(separator: "\n").map(String.init))
            #expect(lines.contains("process_cpu_interrupts counter - process_cpu_interrupts_total"), "\(output)")
            #expect(lines.contains("monitord_samples_received counter - monitord_samples_received_total"))
            #expect(lines.contains("process_cpu_seconds counter seconds process_cpu_seconds_total"))
            #expect(lines.contains("process_ram_usage_percent gauge - process_ram_usage_percent"))
            #expect(lines.contains("process_ram_gigabytes gauge - process_ram_gigabytes"))

            let plain = try HTTPClient.get(port: gateway.metricsPort, path: "/metrics")
            #expect(plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(!plain.body.contains("# EOF"))
            #expect(plain.body.contains("# TYPE process_cpu_interrupts_total counter"))
        }
    }

    @Test("Prometheus negotiates OpenMetrics: the UNIT lines reach its metadata API, the series its TSDB")
    func prometheusScrapesOpenMetrics() async throws {
        try await withScrapedAgent(named: "e2e-om-scraped") { _, prometheus in
            let port = prometheus.port
            let ingested = await prometheus.ingests("process_cpu_interrupts_total", agent: "e2e-om-scraped")
            #expect(ingested, "\(prometheus.recentOutput)")
            // Only the OpenMetrics parser gives Prometheus a unit: its presence proves the negotiation.
            let unit = await eventually(timeout: 20, every: .milliseconds(500)) {
                let response = try HTTPClient.get(
                    port: port,
                    path: "/api/v1/targets/metadata?metric=process_cpu_seconds&match_target=%7Bjob%3D%22monitord%22%7D")
                return response.body.contains(#""unit":"seconds""#)
            }
            #expect(unit, "no unit in Prometheus' metadata: OpenMetrics was not negotiated")
        }
    }
}
