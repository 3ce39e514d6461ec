import ArgumentParser
import LoadGenCore
import MonitorModel

/// `monitor-loadgen`: simulated agents against a gateway, for benchmarks (docs/performance.md).
@main
struct LoadGenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor-loadgen",
        abstract: "Simulate many agents pushing samples to monitord (or the report's server) and measure it.",
        discussion: """
            Each agent holds one TCP connection. Native agents say hello and send numbered samples; \
            the gateway's cumulative acks give the send→ack latency. Report-format agents write the \
            report's JSON objects with no delimiter and get no reply. Prints a summary and, last, one \
            line of JSON. Exit status 0 when every agent connected and ran without error, 1 otherwise.
            """,
        version: MonitorVersion.current
    )

    @Option(help: ArgumentHelp("Gateway agent port as host:port (loopback).", valueName: "host:port"))
    var server = "127.0.0.1:5578"

    @Option(help: "Number of simulated agents (one connection each).")
    var agents = 1

    @Option(
        help: ArgumentHelp(
            "Time between samples of one agent (500ms, 1s, ...), or 0 for as fast as possible.",
            valueName: "duration"))
    var interval = "1s"

    @Option(help: "As fast as possible: unacknowledged native samples kept in flight per agent.")
    var window = 32

    @Option(help: ArgumentHelp("Measurement time once the agents are connected.", valueName: "duration"))
    var duration = "10s"

    @Option(help: ArgumentHelp("Spread the connections over this time.", valueName: "duration"))
    var rampUp = "1s"

    @Option(help: "Refuse to run with more agents than this (file descriptors are finite).")
    var maxConnections = 20_000

    @Option(help: "Connection attempts in flight at once during the ramp-up.")
    var maxPendingConnects = 256

    @Option(help: "Agents are named <prefix><n>, n from 1.")
    var namePrefix = "loadgen-"

    @Option(help: ArgumentHelp("native or report (the course report's format).", valueName: "dialect"))
    var dialect = "native"

    @Option(help: ArgumentHelp("After the window, wait up to this long for outstanding acks.", valueName: "duration"))
    var drain = "2s"

    @Option(
        help: ArgumentHelp(
            "Spread the connections over the loopback source addresses 127.0.0.1 … 127.0.0.N, each bound before connecting (1 to 254; 1 leaves the source to the kernel). One address has about 28,000 ephemeral ports, so 50,000 agents need at least 2. The server must be on 127.x.x.x.",
            valueName: "N"))
    var sourceAddresses = 1

    @Flag(help: "Print only the JSON line.")
    var json = false

    func run() async throws {
        let plan = try makePlan()
        let report = try await LoadGenerator(plan: plan).run()
        if !json {
            print(report.summary)
        }
        print(report.jsonLine)
        if !report.isClean {
            throw ExitCode.failure
        }
    }

    private func makePlan() throws -> LoadPlan {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]),
            (1...65535).contains(port)
        else {
            throw ValidationError("--server must be host:port, got \(server)")
        }
        guard let dialect = LoadPlan.Dialect(rawValue: dialect) else {
            throw ValidationError("--dialect must be native or report, got \(self.dialect)")
        }
        guard agents >= 1, window >= 1, maxPendingConnects >= 1 else {
            throw ValidationError("--agents, --window and --max-pending-connects must be at least 1")
        }
        guard (1...LoadPlan.maximumSourceAddresses).contains(sourceAddresses) else {
            throw ValidationError(
                "--source-addresses must be between 1 and \(LoadPlan.maximumSourceAddresses), got \(sourceAddresses)")
        }
        let pace: LoadPlan.Pace
        if interval == "0" {
            pace = .flood(window: window)
        } else {
            let interval = try duration(interval, "--interval")
            guard interval > .zero else { throw ValidationError("--interval must be positive, or 0") }
            pace = .interval(interval)
        }
        return LoadPlan(
            host: String(server[..<colon]).trimmingBrackets(),
            port: port,
            agents: agents,
            dialect: dialect,
            pace: pace,
            duration: try duration(duration, "--duration"),
            rampUp: try duration(rampUp, "--ramp-up"),
            maxPendingConnects: maxPendingConnects,
            maxConnections: maxConnections,
            namePrefix: namePrefix,
            drain: try duration(drain, "--drain"),
            sourceAddresses: sourceAddresses
        )
    }

    private func duration(_ text: String, _ option: String) throws -> Duration {
        if text == "0" { return .zero }
        guard let value = Duration(configurationText: text) else {
            throw ValidationError("\(option) must be a duration with a unit (500ms, 10s, 2m), got \(text)")
        }
        return value
    }
}

extension String {
    /// `[::1]` → `::1`, so IPv6 loopback can be given as in URLs.
    fileprivate func trimmingBrackets() -> String {
        hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self
    }
}
