public import ArgumentParser
public import Logging
public import ServiceLifecycle

/// The command-line options both daemons take, and running the launcher with them.
///
/// Each `main` declares its name, help text and service; the options and what they do are the same
/// for both, so they are written once here (`@OptionGroup var options: DaemonOptions`).
public struct DaemonOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Configuration file.", valueName: "path"))
    public var config: String?

    @Flag(name: .long, help: "Validate the configuration and exit: 0 when valid, 78 otherwise.")
    public var checkConfig = false

    @Flag(name: .long, help: "With --check-config, print the effective configuration, defaults filled in.")
    public var verbose = false

    public init() {}

    /// Runs `launcher` as these options say; a non-zero exit status ends the command with it.
    public func run<Configuration>(
        _ launcher: DaemonLauncher<Configuration>,
        makeService: (Configuration, String?, Logger) -> any Service
    ) async throws {
        let status = await launcher.main(
            explicitPath: config, checkConfig: checkConfig, verbose: verbose, makeService: makeService)
        if status.code != 0 { throw ExitCode(status.code) }
    }
}
