import ArgumentParser
import DaemonKit
import GatewayConfig
import GatewayKit
import MonitorConfig
import MonitorModel
import MonitorRemoteWrite
import MonitorWebConfig
import NIOPosix

/// `monitord`: the gateway agents push to and Prometheus scrapes.
@main
struct MonitordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitord",
        abstract: "Receive host metrics pushed by monitor-agent and serve them to Prometheus.",
        discussion: """
            Agents connect to the agent port (default 5578) with the native protocol or the report's \
            JSON format; Prometheus scrapes http://HOST:8001/metrics. Configuration: monitord.conf(5). \
            SIGHUP reloads the configuration, SIGTERM stops.
            """,
        version: MonitorVersion.current
    )

    @OptionGroup var options: DaemonOptions

    /// Before anything else, even parsing the command line: a SIGHUP or SIGTERM while starting must
    /// not kill the gateway (StartupSignals).
    static func main() async {
        StartupSignals.hold()
        await main(nil)
    }

    func run() async throws {
        let launcher = DaemonLauncher<GatewayConfiguration>(
            identifier: "monitord",
            defaultConfigurationPath: "/etc/monitor/monitord.conf",
            validate: { configuration, configurationPath throws(ConfigurationError) in
                // The web config file is read here too, so that --check-config refuses a broken one.
                if let path = configuration.webConfigFile { _ = try WebConfig.load(path: path) }
                // The agent port's TLS files are loaded as at start, so that a file that is not one
                // (a pipe, a device) or does not parse is refused here and not at the next restart.
                do {
                    _ = try TLSContexts.server(configuration)
                } catch {
                    throw ConfigurationError(file: configurationPath, line: nil, message: "\(error)")
                }
                // And the remote-write TLS files are parsed as the writer will (key fits certificate).
                if let remoteWrite = configuration.remoteWrite {
                    do {
                        _ = try TLSContexts.remoteWriteClient(remoteWrite)
                    } catch {
                        throw ConfigurationError(
                            file: configurationPath, line: nil, message: "[remote-write]: \(error)")
                    }
                }
            }
        )
        // One for the process: a reload reads the web config file again, and the passwords that
        // verified before stay good for the users whose hash did not change.
        let verifiedPasswords = VerifiedPasswords()
        try await options.run(launcher) { configuration, path, logger in
            GatewayService(
                configuration: configuration, configurationPath: path, logger: logger,
                forwarder: configuration.remoteWrite.map {
                    RemoteWriter(
                        configuration: $0, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                        clock: SystemWallClock())
                },
                httpGuardLoader: WebConfigGuard.loader(remembering: verifiedPasswords))
        }
    }
}
