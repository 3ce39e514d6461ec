import AgentKit
import ArgumentParser
import DaemonKit
import MonitorConfig
import MonitorModel

/// `monitor-agent`: samples this host and pushes to monitord.
@main
struct MonitorAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor-agent",
        abstract: "Sample RAM, CPU and interrupts of this host and push them to monitord.",
        discussion: """
            Every interval (default 5 s) the agent samples RAM use, CPU use over the CPU window \
            (default 4 s), interrupts since boot and its own RSS, and sends them to the first reachable \
            server. While no server is reachable it buffers samples and delivers them later. \
            Configuration: monitor-agent.conf(5). SIGHUP reloads the configuration, SIGTERM stops.
            """,
        version: MonitorVersion.current
    )

    @Option(name: .long, help: ArgumentHelp("Configuration file.", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Validate the configuration and exit: 0 when valid, 78 otherwise.")
    var checkConfig = false

    @Flag(name: .long, help: "With --check-config, print the effective configuration, defaults filled in.")
    var verbose = false

    func run() async throws {
        let launcher = DaemonLauncher<AgentConfiguration>(
            identifier: "monitor-agent",
            defaultConfigurationPath: "/etc/monitor/agent.conf"
        )
        let status = await launcher.main(explicitPath: config, checkConfig: checkConfig, verbose: verbose) {
            configuration, path, logger in
            AgentService(configuration: configuration, configurationPath: path, logger: logger)
        }
        if status.code != 0 { throw ExitCode(status.code) }
    }
}
