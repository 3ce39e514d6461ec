import Foundation
import TestSupport
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

    /// A daemon's configuration file for the startup-signal test: loopback, port 0.
    static func startupConfiguration(daemon: String) throws -> String {
        let path = try makeTemporaryDirectory() + "/\(daemon).conf"
        let text =
            daemon == "monitord"
            ? "[monitord]\nlisten = 127.0.0.1:0\nmetrics-listen = 127.0.0.1:0\n"
            : "[agent]\nserver = 127.0.0.1:9\nname = e2e-early-hup\ninterval = 200ms\ncpu-window = 100ms\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "SIGHUP 0, 10, 50 and 100 ms after exec, many times: both daemons keep running; SIGTERM then stops gracefully",
        arguments: ["monitord", "monitor-agent"])
    func signalsWhileStarting(daemon: String) async throws {
        let executable = daemon == "monitord" ? Products.monitord : Products.agent
        let ready = daemon == "monitord" ? "listening: agents on" : "sampling as"
        let configuration = try Self.startupConfiguration(daemon: daemon)
        for delay in [0, 10, 50, 100] {
            for run in 0..<3 {
                let process = try RunningProcess(executable: executable, arguments: ["--config", configuration])
                defer { process.signal(SIGKILL) }
                if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                process.signal(SIGHUP)
                #expect(
                    await eventually { process.output.contains(ready) || !process.process.isRunning },
                    "\(daemon), SIGHUP at \(delay) ms, run \(run): \(process.output)")
                try await Task.sleep(for: .milliseconds(300))
                #expect(
                    process.process.isRunning,
                    "\(daemon) died of a SIGHUP \(delay) ms after exec (run \(run)): \(process.output)")
                await process.stop()
            }
        }
        // SIGTERM right after exec: a graceful stop (exit 0), not death by the signal (143).
        let process = try RunningProcess(executable: executable, arguments: ["--config", configuration])
        defer { process.signal(SIGKILL) }
        process.signal(SIGTERM)
        #expect(await process.waitForExit(timeout: 20) == 0, "\(daemon): \(process.output)")
        #expect(process.process.terminationReason == .exit, "\(daemon): \(process.output)")
    }
}
