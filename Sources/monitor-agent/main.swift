import AgentKit
import DaemonKit
import MonitorConfig
import MonitorModel
import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

// `monitor-agent`: samples this host and pushes to monitord.

// Before anything else: a SIGHUP or SIGTERM while starting must not kill the agent (StartupSignals).
StartupSignals.hold()

switch AgentCommandLine.parse(Array(CommandLine.arguments.dropFirst())) {
case .failure(let error):
    StandardError.printLine(
        "Error: \(error)\nUsage: \(AgentCommandLine.synopsis)\n  See 'monitor-agent --help' for more information.\n")
    exit(64)
case .success(.help):
    print(AgentCommandLine.help, terminator: "")
case .success(.version):
    print(MonitorVersion.current)
case .success(.run(let options)):
    // All of the agent's work runs on one event loop; this thread only waits for the end
    // (EventLoopExecutor.run says why not top-level `await`).
    let executor = EventLoopExecutor.ownThread()
    let status = executor.run {
        let launcher = DaemonLauncher<AgentConfiguration>(
            identifier: "monitor-agent", defaultConfigurationPath: "/etc/monitor/agent.conf",
            validate: { configuration, path throws(ConfigurationError) in
                try configuration.checkResolvedName(hostName: HostName.current, file: path)
                // The TLS files are loaded as at start, so that --check-config refuses a missing CA
                // file or a key that does not fit its certificate (audit 7, 03), and a start or a
                // reload with them fails as a configuration error (78), naming the file.
                do {
                    _ = try TLSContexts.client(configuration)
                } catch {
                    throw ConfigurationError(file: path, line: nil, message: "\(error)")
                }
            })
        return await launcher.main(
            explicitPath: options.configPath, checkConfig: options.checkConfig, verbose: options.verbose
        ) { configuration, path, logger in
            try await AgentService(
                configuration: configuration, configurationPath: path, logger: logger, executor: executor
            ).run()
        }
    }
    if status.code != 0 { exit(status.code) }
}
