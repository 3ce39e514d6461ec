import AgentKit
import DaemonKit
import MonitorConfig
import MonitorModel

#if canImport(Glibc)
    import Glibc
#endif

// `monitor-agent`: samples this host and pushes to monitord.

// Before anything else: a SIGHUP or SIGTERM while starting must not kill the agent (StartupSignals).
StartupSignals.hold()

switch AgentCommandLine.parse(Array(CommandLine.arguments.dropFirst())) {
case .failure(let error):
    writeToStandardError(
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
                try configuration.checkResolvedName(hostName: currentHostName(), file: path)
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

/// write(2) on fd 2 rather than stdio's `stderr`, a global Swift 6 rightly calls shared mutable state.
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}
