import Foundation
import TestSupport

/// Debian's Prometheus on a free loopback port, in a temporary directory of its own: the scraper of the
/// exposition tests and the receiver of the remote-write tests, started one way.
final class PrometheusServer: @unchecked Sendable {
    let process: RunningProcess
    let port: Int
    /// Holds `prometheus.yml`, the TSDB and whatever `files` the caller asked for.
    let directory: String

    /// Starts Prometheus with `configuration` as its `prometheus.yml`, the `files` (name → contents)
    /// written beside it first, and `arguments(directory)` added to the usual flags.
    /// The flags it was started with besides the usual ones, for ``restarted()``.
    private let extraArguments: [String]

    init(
        configuration: String, files: [String: String] = [:], name: String = "prometheus",
        arguments: (_ directory: String) -> [String] = { _ in [] }
    ) throws {
        directory = try makeTemporaryDirectory()
        port = try freeLoopbackPort()
        try configuration.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        for (file, contents) in files {
            try contents.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
        }
        extraArguments = arguments(directory)
        process = try Self.launch(directory: directory, port: port, arguments: extraArguments, name: name)
    }

    private init(restarting stopped: PrometheusServer) throws {
        directory = stopped.directory
        port = stopped.port
        extraArguments = stopped.extraArguments
        process = try Self.launch(
            directory: directory, port: port, arguments: extraArguments, name: stopped.process.name)
    }

    private static func launch(directory: String, port: Int, arguments: [String], name: String) throws
        -> RunningProcess
    {
        try RunningProcess(
            executable: "/usr/bin/prometheus",
            arguments: [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)",
            ] + arguments,
            name: name)
    }

    /// The same Prometheus started again (same port, same TSDB) after this one was killed: a
    /// receiver that was down and is back, with what it stored before.
    func restarted() throws -> PrometheusServer {
        try PrometheusServer(restarting: self)
    }

    /// A Prometheus scraping monitord's HTTP port every second as job `monitord`; `jobSettings` are
    /// further lines of the job (scheme, tls_config, basic_auth), indented as its other keys.
    static func scraping(metricsPort: Int, jobSettings: String = "", files: [String: String] = [:]) throws
        -> PrometheusServer
    {
        let configuration = """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: monitord
            \(jobSettings.split(separator: "\n").map { "    " + $0 + "\n" }.joined())\
                static_configs:
                  - targets: ["127.0.0.1:\(metricsPort)"]
            """
        return try PrometheusServer(configuration: configuration, files: files)
    }

    /// A Prometheus that scrapes nothing and receives remote write.
    static func receiving(
        files: [String: String] = [:], name: String = "prometheus",
        arguments: (_ directory: String) -> [String] = { _ in [] }
    ) throws -> PrometheusServer {
        try PrometheusServer(configuration: "global:\n  scrape_interval: 1m\n", files: files, name: name) {
            ["--web.enable-remote-write-receiver"] + arguments($0)
        }
    }

    /// Whether an instant query for `family` returns a series labelled `agent_number="agent"`, within `timeout`.
    func ingests(_ family: String, agent: String, timeout: Double = 45) async -> Bool {
        let port = port
        return await eventually(timeout: timeout, every: .milliseconds(500)) {
            let response = try HTTPClient.get(port: port, path: "/api/v1/query?query=\(family)")
            return response.status == 200 && response.body.contains(#""agent_number":"\#(agent)""#)
        }
    }

    /// The end of its output, for failure messages.
    var recentOutput: Substring { process.output.suffix(2000) }

    func stop() { process.signal(SIGKILL) }
}

/// A gateway with one monitor-agent named `agent`, scraped by a real Prometheus, for `body`.
func withScrapedAgent(
    named agent: String, _ body: (GatewayProcess, PrometheusServer) async throws -> Void
) async throws {
    try await withGateway { gateway in
        let process = try AgentProcess.start(name: agent, gatewayPort: gateway.agentPort)
        defer { process.process.signal(SIGKILL) }
        let prometheus = try PrometheusServer.scraping(metricsPort: gateway.metricsPort)
        defer { prometheus.stop() }
        try await body(gateway, prometheus)
    }
}
