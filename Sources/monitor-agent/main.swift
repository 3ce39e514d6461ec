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

    @OptionGroup var options: DaemonOptions

    func run() async throws {
        let launcher = DaemonLauncher<AgentConfiguration>(
            identifier: "monitor-agent", defaultConfigurationPath: "/etc/monitor/agent.conf")
        try await options.run(launcher) { configuration, path, logger in
            AgentService(configuration: configuration, configurationPath: path, logger: logger)
        }
    }
}
