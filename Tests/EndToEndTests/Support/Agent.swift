import Foundation
import TestSupport
import Testing

/// A `monitor-agent` started from the built binary, sending to a test gateway.
final class AgentProcess: @unchecked Sendable {
    let process: RunningProcess
    let name: String
    let configPath: String

    static func start(
        name: String,
        gatewayPort: Int,
        servers: [Int]? = nil,
        interval: String = "200ms",
        cpuWindow: String = "100ms",
        extraConfiguration: String = "",
        blockingSignals: Bool = false
    ) throws -> AgentProcess {
        let dir = try makeTemporaryDirectory()
        let configPath = dir + "/agent.conf"
        let text = """
            [agent]
            server = \((servers ?? [gatewayPort]).map { "127.0.0.1:\($0)" }.joined(separator: ", "))
            name = \(name)
            interval = \(interval)
            cpu-window = \(cpuWindow)
            \(extraConfiguration)
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        // blockingSignals: exec'd with SIGHUP, SIGTERM and SIGINT blocked, as a launcher whose
        // thread blocks them passes them on (a signal mask survives exec).
        let process =
            blockingSignals
            ? try RunningProcess(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    "import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGTERM, signal.SIGINT}); os.execv(sys.argv[1], sys.argv[1:])",
                    Products.agent, "--config", configPath,
                ], name: name)
            : try RunningProcess(executable: Products.agent, arguments: ["--config", configPath], name: name)
        return AgentProcess(process: process, name: name, configPath: configPath)
    }

    private init(process: RunningProcess, name: String, configPath: String) {
        self.process = process
        self.name = name
        self.configPath = configPath
    }

    func stop() async { await process.stop() }
}

/// The report's Python agent (Tests/report/agent.py), at test speed.
func startReportAgent(port: Int, interval: Double = 0.2, cpuWindow: Double = 0.1) throws -> RunningProcess {
    try RunningProcess(
        executable: "/usr/bin/env",
        arguments: [
            "python3", Products.reportAgent, "--host", "127.0.0.1", "--port", "\(port)",
            "--interval", "\(interval)", "--cpu-window", "\(cpuWindow)",
        ],
        name: "report-agent"
    )
}

extension GatewayProcess {
    /// Starts a monitor-agent named `name` against this gateway and waits until its samples are on
    /// `/metrics` (an expectation, so a test that needs them fails there, with the gateway's log).
    func startAgentAndAwaitSamples(named name: String) async throws -> AgentProcess {
        let agent = try AgentProcess.start(name: name, gatewayPort: agentPort)
        let arrived = await eventually { try self.metrics().value("process_ram_usage_percent", agent: name) != nil }
        #expect(arrived, "no sample of \(name) on /metrics: \(process.output.suffix(1500))")
        return agent
    }
}
