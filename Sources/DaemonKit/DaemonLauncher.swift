public import Logging
public import MonitorConfig
import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// What both daemons' configurations offer the launcher.
public protocol DaemonConfiguration: Sendable {
    static func load(path: String) throws(ConfigurationError) -> Self
    init()
    func rendered() -> String
    var logLevel: LogLevelName { get }
    /// Ways the configuration exposes a secret; printed by `--check-config`, logged at start.
    func securityWarnings(path: String?) -> [String]
}

extension DaemonConfiguration {
    public func securityWarnings(path: String?) -> [String] { [] }
}

extension AgentConfiguration: DaemonConfiguration {}

/// The part of `main` both daemons share: configuration, `--check-config`, logging, signals,
/// exit codes. The executables only declare their options and name their service.
public struct DaemonLauncher<Configuration: DaemonConfiguration> {
    /// sysexits.h EX_CONFIG: what `--check-config` and a refused start exit with.
    public static var configurationErrorExitCode: Int32 { 78 }

    public let identifier: String
    public let defaultConfigurationPath: String
    /// Checks of files the configuration names that only the executable can read (the web config
    /// file, say), so that `--check-config` and a start refuse them like the configuration itself.
    public let validate: (_ configuration: Configuration, _ path: String) throws(ConfigurationError) -> Void

    public init(
        identifier: String,
        defaultConfigurationPath: String,
        validate: @escaping (_ configuration: Configuration, _ path: String) throws(ConfigurationError) -> Void = {
            _, _ in
        }
    ) {
        self.identifier = identifier
        self.defaultConfigurationPath = defaultConfigurationPath
        self.validate = validate
    }

    /// Loads the configuration. A missing file at the *default* path means defaults (so the binary
    /// runs by hand from a build tree); a missing file the user named is an error.
    /// Returns the configuration and the path to reload from, or an exit code.
    public func loadConfiguration(explicitPath: String?) -> Result<(Configuration, String?), ExitStatus> {
        let path = explicitPath ?? defaultConfigurationPath
        if explicitPath == nil, access(path, F_OK) != 0 {
            // The defaults are checked like a file: they may lean on the host (its name, say).
            do throws(ConfigurationError) {
                try validate(Configuration(), path)
            } catch {
                StandardError.printLine("\(error)")
                return .failure(ExitStatus(code: Self.configurationErrorExitCode))
            }
            return .success((Configuration(), nil))
        }
        do {
            let configuration = try Configuration.load(path: path)
            try validate(configuration, path)
            return .success((configuration, path))
        } catch {
            StandardError.printLine("\(error)")
            return .failure(ExitStatus(code: Self.configurationErrorExitCode))
        }
    }

    /// `--check-config`: prints a verdict (or, verbose, the effective configuration) and exits.
    public func checkConfiguration(explicitPath: String?, verbose: Bool) -> ExitStatus {
        switch loadConfiguration(explicitPath: explicitPath) {
        case .failure(let status):
            return status
        case .success(let (configuration, path)):
            for warning in configuration.securityWarnings(path: path) { StandardError.printLine("warning: \(warning)") }
            if verbose {
                print(configuration.rendered(), terminator: "")
            } else {
                print("\(path ?? "(no file, defaults)"): configuration is valid")
            }
            return ExitStatus(code: 0)
        }
    }

    /// Everything `main` does after parsing the command line: `--check-config`, or load the
    /// configuration, set up logging and run the daemon with `run` until it stops. Returns the
    /// process's exit status.
    ///
    /// How the daemon runs and hears signals is `run`'s: monitord in a swift-service-lifecycle
    /// service group, the agent on its own event loop without it (docs/performance.md).
    public func main(
        explicitPath: String?,
        checkConfig: Bool,
        verbose: Bool,
        run: (Configuration, String?, Logger) async throws -> Void
    ) async -> ExitStatus {
        if checkConfig {
            return checkConfiguration(explicitPath: explicitPath, verbose: verbose)
        }
        switch loadConfiguration(explicitPath: explicitPath) {
        case .failure(let status):
            return status
        case .success(let (configuration, path)):
            LogBackend.bootstrap(
                identifier: identifier, level: Logger.Level(rawValue: configuration.logLevel.rawValue) ?? .info)
            let logger = Logger(label: identifier)
            do {
                try await run(configuration, path, logger)
                return ExitStatus(code: 0)
            } catch {
                logger.critical("\(identifier) cannot run: \(error)")
                return ExitStatus(code: 1)
            }
        }
    }
}

/// The launcher's verdict as a process exit status; the `main`s end the process with it.
public struct ExitStatus: Error, Sendable, Equatable {
    public var code: Int32
    public init(code: Int32) { self.code = code }
}
