import Foundation
import TestSupport
import Testing

/// The audit's hangs: a named pipe where a daemon expects a file blocked `open(2)` until a writer came,
/// so `--check-config`, the start and SIGHUP hung, and SIGTERM was no longer heard. Every file the
/// daemons read or write must be refused unless it is a regular file, at once and with its name.
@Suite("Named pipes in place of files")
struct NamedPipeTests {
    func run(_ binary: String, _ arguments: [String]) async throws -> (Int32, String) {
        let process = try RunningProcess(executable: Products.directory + "/" + binary, arguments: arguments)
        let status = try #require(await process.waitForExit(timeout: 10), "\(binary) \(arguments) hung")
        return (status, process.output)
    }

    @Test(
        "monitord --check-config refuses a pipe as tokens-file, tls-certificate or web-config-file",
        arguments: ["tokens-file", "tls-certificate", "web-config-file"])
    func gatewayFiles(key: String) async throws {
        let directory = try makeTemporaryDirectory("monitord-fifo")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipe = directory + "/pipe"
        #expect(mkfifo(pipe, 0o600) == 0)
        var lines = ["[monitord]", "\(key) = \(pipe)"]
        if key == "tls-certificate" { lines.append("tls-key = \(pipe)") }
        let config = directory + "/monitord.conf"
        try (lines.joined(separator: "\n") + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        let (status, output) = try await run("monitord", ["--config", config, "--check-config"])
        #expect(status == 78, "\(key): \(output)")
        #expect(output.contains("not a regular file"), "\(key): \(output)")
    }

    @Test("monitor-agent --check-config refuses a pipe as its configuration file")
    func agentConfiguration() async throws {
        let directory = try makeTemporaryDirectory("monitord-fifo")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipe = directory + "/agent.conf"
        #expect(mkfifo(pipe, 0o600) == 0)
        let (status, output) = try await run("monitor-agent", ["--config", pipe, "--check-config"])
        #expect(status == 78, "\(output)")
        #expect(output.contains("not a regular file"), "\(output)")
    }

    @Test("a pipe planted in the spool is treated as damage: the agent delivers, and stops on SIGTERM")
    func pipeInSpool() async throws {
        try await withGateway { gateway in
            let spool = try makeTemporaryDirectory("monitord-fifo")
            defer { try? FileManager.default.removeItem(atPath: spool) }
            chmod(spool, 0o700)
            #expect(mkfifo(spool + "/seg-00000000000000000001.log", 0o600) == 0)
            let agent = try AgentProcess.start(
                name: "fifo-spool", gatewayPort: gateway.agentPort, extraConfiguration: "spool-directory = \(spool)\n")
            defer { agent.process.signal(SIGKILL) }
            #expect(
                await eventually(timeout: 20) {
                    try gateway.metrics().value("monitord_samples_received_total", agent: "fifo-spool") ?? 0 >= 2
                }, "the agent never delivered: \(agent.process.output)")
            agent.process.signal(SIGTERM)
            #expect(await agent.process.waitForExit(timeout: 10) != nil, "SIGTERM not heard: \(agent.process.output)")
        }
    }
}
