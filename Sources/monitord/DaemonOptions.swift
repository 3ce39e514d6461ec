import ArgumentParser
import DaemonKit
import Logging
import ServiceLifecycle

/// monitord's command-line options, and running the launcher with them.
///
/// monitor-agent takes the same options but parses them by hand (AgentCommandLine): this type
/// needs swift-argument-parser, which would bring FoundationEssentials into the agent.
struct DaemonOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Configuration file.", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Validate the configuration and exit: 0 when valid, 78 otherwise.")
    var checkConfig = false

    @Flag(name: .long, help: "With --check-config, print the effective configuration, defaults filled in.")
    var verbose = false

    init() {}

    /// Runs `launcher` as these options say; a non-zero exit status ends the command with it.
    func run<Configuration>(
        _ launcher: DaemonLauncher<Configuration>,
        makeService: (Configuration, String?, Logger) -> any Service
    ) async throws {
        let status = await launcher.main(explicitPath: config, checkConfig: checkConfig, verbose: verbose) {
            configuration, path, logger in
            let service = makeService(configuration, path, logger)
            // SIGTERM and SIGINT stop monitord gracefully (GatewayService's DaemonControl.run).
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
        if status.code != 0 { throw ExitCode(status.code) }
    }
}
