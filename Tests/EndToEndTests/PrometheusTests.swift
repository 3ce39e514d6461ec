import Foundation
import Testing

/// The real Prometheus tools against live output: SPEC's promtool rule and a real scrape.
@Suite("Prometheus")
struct PrometheusTests {
    /// The one complaint SPEC accepts, kept for the report's dashboards.
    static let acceptedComplaint = #"process_ram_gigabytes use base unit "bytes" instead of "gigabytes""#

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
            let complaints = try runPromtool(on: body)
            #expect(complaints == [Self.acceptedComplaint], "promtool said: \(complaints)\n\(body)")
        }
    }

    @Test("a real Prometheus scrapes monitord and its query API returns the four families")
    func prometheusScrapes() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-scraped", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let dir = try makeTemporaryDirectory()
            let port = try freeLoopbackPort()
            let config = """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: monitord
                    static_configs:
                      - targets: ["127.0.0.1:\(gateway.metricsPort)"]
                """
            try config.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
            let prometheus = try RunningProcess(
                executable: "/usr/bin/prometheus",
                arguments: [
                    "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/data",
                    "--web.listen-address=127.0.0.1:\(port)",
                ],
                name: "prometheus"
            )
            defer { prometheus.signal(SIGKILL) }
            for family in MetricsPage.reportFamilies {
                let found = await eventually(timeout: 45, every: .milliseconds(500)) {
                    let response = try HTTPClient.get(port: port, path: "/api/v1/query?query=\(family)")
                    return response.status == 200 && response.body.contains(#""agent_number":"e2e-scraped""#)
                }
                #expect(found, "\(family) not in Prometheus: \(prometheus.output.suffix(2000))")
            }
        }
    }
}

/// Runs `promtool check metrics` on `body` and returns its complaint lines.
func runPromtool(on body: String) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
    process.arguments = ["check", "metrics"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data(body.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map {
        $0.trimmingCharacters(in: .whitespaces)
    }.filter { !$0.isEmpty }
}

/// A loopback port free right now (for programs, like Prometheus, that cannot report port 0).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw E2EError("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
