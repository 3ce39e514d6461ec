import Foundation
import Testing

/// SIGHUP: a valid file is applied live (ports moved, timeouts changed), a broken one refused.
@Suite("Reload")
struct ReloadTests {
    @Test("SIGHUP moves the metrics port, keeps serving agents, and refuses a broken file")
    func reloadMovesPortsAndRefusesBrokenFiles() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-reload", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            #expect(await eventually { try gateway.metrics().value("monitord_agent_up", agent: "e2e-reload") == 1 })

            // A valid change: the metrics port moves; the agent's connection is untouched.
            let newPort = try freeLoopbackPort()
            let original = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
            let moved = original.replacingOccurrences(
                of: "metrics-listen = 127.0.0.1:0", with: "metrics-listen = 127.0.0.1:\(newPort)")
            #expect(moved != original)
            try moved.write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(
                await eventually {
                    try HTTPClient.get(port: newPort, path: "/metrics").body.contains("e2e-reload")
                }, "\(gateway.process.output)")
            #expect(
                (try? HTTPClient.get(port: gateway.metricsPort, path: "/metrics")) == nil, "the old port still serves")
            #expect(gateway.process.output.contains("configuration reloaded"))

            // A broken file: refused with file:line, the running configuration kept.
            try (moved + "\nno-such-key = 1\n").write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(
                await eventually {
                    gateway.process.output.contains("configuration reload refused")
                        && gateway.process.output.contains("\(gateway.configPath):")
                }, "\(gateway.process.output)")
            #expect(gateway.process.process.isRunning)
            let samplesBefore = try #require(
                try HTTPClient.get(port: newPort, path: "/metrics").body.firstMatch(
                    of: /monitord_samples_received_total\{agent_number="e2e-reload"\} (\d+)/
                ).flatMap { Double($0.1) })
            #expect(
                await eventually {
                    let body = try HTTPClient.get(port: newPort, path: "/metrics").body
                    let now = body.firstMatch(of: /monitord_samples_received_total\{agent_number="e2e-reload"\} (\d+)/)
                        .flatMap { Double($0.1) }
                    return now ?? 0 > samplesBefore
                }, "samples stopped flowing after a refused reload")
        }
    }
}
