import Foundation
import TestSupport
import Testing

/// A `monitord` started from the built binary on free loopback ports.
final class GatewayProcess: @unchecked Sendable {
    let process: RunningProcess
    let agentPort: Int
    let metricsPort: Int
    let configPath: String

    /// Starts monitord with `extraConfiguration` lines added to its [monitord] section.
    /// Ports are 0 unless given, and read back from the daemon's "listening" line.
    static func start(
        agentPort: Int = 0,
        metricsPort: Int = 0,
        extraConfiguration: String = "agent-timeout = 3s\nforget-after = 30s\n",
        directory: String? = nil
    ) async throws -> GatewayProcess {
        let dir = try directory ?? makeTemporaryDirectory()
        let configPath = dir + "/monitord.conf"
        let text = """
            [monitord]
            listen = 127.0.0.1:\(agentPort)
            metrics-listen = 127.0.0.1:\(metricsPort)
            \(extraConfiguration)
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = try RunningProcess(executable: Products.monitord, arguments: ["--config", configPath])
        var ports: (Int, Int)?
        let listening = await eventually(timeout: 20) {
            ports = parseListening(process.output)
            return ports != nil || !process.process.isRunning
        }
        guard listening, let (agents, metrics) = ports else {
            await process.stop()
            throw E2EError("monitord did not start listening:\n\(process.output)")
        }
        return GatewayProcess(process: process, agentPort: agents, metricsPort: metrics, configPath: configPath)
    }

    private init(process: RunningProcess, agentPort: Int, metricsPort: Int, configPath: String) {
        self.process = process
        self.agentPort = agentPort
        self.metricsPort = metricsPort
        self.configPath = configPath
    }

    func metrics() throws -> ExpositionPage {
        let response = try HTTPClient.get(port: metricsPort, path: "/metrics")
        guard response.status == 200 else { throw E2EError("GET /metrics: \(response.status)") }
        return ExpositionPage(text: response.body)
    }

    func stop() async { await process.stop() }
}

/// "listening: agents on 127.0.0.1:40123, metrics on http://127.0.0.1:40124/metrics"
func parseListening(_ output: String) -> (Int, Int)? {
    guard let match = output.firstMatch(of: /agents on [^\s,]*:(\d+), metrics on https?:\/\/[^\s]*:(\d+)\/metrics/),
        let agents = Int(match.1), let metrics = Int(match.2)
    else { return nil }
    return (agents, metrics)
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` with a fresh gateway and stops it afterwards, whether `body` succeeds or throws.
func withGateway<T>(
    extraConfiguration: String = "agent-timeout = 3s\nforget-after = 30s\n",
    _ body: (GatewayProcess) async throws -> T
) async throws -> T {
    let gateway = try await GatewayProcess.start(extraConfiguration: extraConfiguration)
    do {
        let result = try await body(gateway)
        await gateway.stop()
        return result
    } catch {
        await gateway.stop()
        throw error
    }
}
