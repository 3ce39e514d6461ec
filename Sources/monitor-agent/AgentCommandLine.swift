/// monitor-agent's command line: five options, parsed by hand.
///
/// The agent does not use swift-argument-parser, unlike monitord: that package imports
/// FoundationEssentials, which with the Regex runtime it brings adds about 4 MB of code to a
/// statically linked binary — more than the agent's own code, NIO included, and pages of it are
/// resident in every agent's memory (docs/performance.md). The messages and exit status follow
/// ArgumentParser's conventions (64, EX_USAGE, for a bad command line).
struct AgentCommandLine: Equatable {
    var configPath: String?
    var checkConfig = false
    var verbose = false

    enum Action: Equatable {
        case run(AgentCommandLine)
        case help
        case version
    }

    struct UsageError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    static let synopsis = "monitor-agent [--config <path>] [--check-config] [--verbose]"

    static let help = """
        OVERVIEW: Sample RAM, CPU and interrupts of this host and push them to monitord.

        Every interval (default 5 s) the agent samples RAM use, CPU use over the CPU window (default \
        4 s), interrupts since boot and its own RSS, and sends them to the first reachable server. \
        While no server is reachable it buffers samples and delivers them later. Configuration: \
        monitor-agent.conf(5). SIGHUP reloads the configuration, SIGTERM stops.

        USAGE: \(synopsis)

        OPTIONS:
          --config <path>         Configuration file.
          --check-config          Validate the configuration and exit: 0 when valid, 78 otherwise.
          --verbose               With --check-config, print the effective configuration, defaults
                                  filled in.
          --version               Show the version.
          -h, --help              Show help information.

        """

    /// Parses the arguments after the program name.
    static func parse(_ arguments: [String]) -> Result<Action, UsageError> {
        var options = AgentCommandLine()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "-h", "--help":
                return .success(.help)
            case "--version":
                return .success(.version)
            case "--check-config":
                options.checkConfig = true
            case "--verbose":
                options.verbose = true
            case "--config":
                guard let path = remaining.popFirst(), !path.hasPrefix("-") || path == "-" else {
                    return .failure(UsageError(description: "Missing value for '--config <path>'"))
                }
                options.configPath = path
            default:
                if argument.hasPrefix("--config=") {
                    options.configPath = String(argument.dropFirst("--config=".count))
                } else if argument.hasPrefix("-") {
                    return .failure(UsageError(description: "Unknown option '\(argument)'"))
                } else {
                    return .failure(UsageError(description: "Unexpected argument '\(argument)'"))
                }
            }
        }
        return .success(.run(options))
    }
}
