import MonitorModel
import MonitorSystem

/// What `monitor-agent` reads from `/etc/monitor/agent.conf`, section `[agent]`.
///
/// Every key has a default, so an agent on the gateway's host works with an empty file.
public struct AgentConfiguration: Sendable, Equatable {
    public static let section = "agent"
    /// Every key of the section, in the order `rendered()` writes them; the schema, parse and rendering.
    static let keys: [ConfigurationKey<AgentConfiguration>] = [
        ConfigurationKey(
            "server", \.servers, parse: { entry, values throws(ConfigurationError) in try values.hostPortList(entry) },
            render: { $0.map(\.description).joined(separator: ", ") }),
        .duration("failback-after", \.failbackAfter, atLeast: .seconds(1)),
        ConfigurationKey("name", \.name, parse: validatedName, render: { $0 }),
        .duration("interval", \.interval, atLeast: minimumInterval),
        .duration("cpu-window", \.cpuWindow),
        .integer("buffer-samples", \.bufferCapacity, in: bufferCapacityRange),
        ConfigurationKey(
            "token", \.token, parse: validatedToken,
            line: { $0.map { "# token = (set, \($0.utf8.count) bytes; not shown)" } ?? "token =" }),
        .boolean("tls", \.tls),
        .optionalText("tls-ca-file", \.tlsCAFile),
        .optionalText("tls-server-name", \.tlsServerName),
        .optionalText("tls-certificate", \.tlsIdentity.certificate),
        .optionalText("tls-key", \.tlsIdentity.key),
        .logLevel("log-level", \.logLevel),
        ConfigurationKey("spool-directory", \.spoolDirectory, parse: spoolDirectory, render: { $0 }),
        .size("spool-max-size", \.spoolMaxBytes, in: spoolSizeRange),
        ConfigurationKey("spool-fsync", \.spoolFsync, parse: spoolFsync, render: \.rendered),
    ]
    static let schema = ConfigurationSchema(sections: [keys.schema(section: section)])
    /// Shorter intervals would make the agent itself a noticeable load and flood the gateway.
    public static let minimumInterval: Duration = .milliseconds(100)
    public static let bufferCapacityRange = 1...10_000_000
    /// Below 64 KiB a spool cannot hold a useful history; SampleSpool relies on this lower bound.
    public static let spoolSizeRange = (64 * 1024)...(1 << 40)

    /// Gateways to connect to, tried in order (failover, not fan-out). Key `server`, comma separated.
    public var servers = [HostPort(host: "127.0.0.1", port: 5578)]
    /// The name the agent announces, which labels its series; empty means the host name. Key `name`.
    public var name = ""
    /// While connected to a server other than the first, the agent goes back to trying the list
    /// from the start after this long, so that it returns to the primary once that is healthy
    /// again. Key `failback-after`.
    public var failbackAfter: Duration = .seconds(300)
    /// Time between samples. Key `interval`.
    public var interval: Duration = .seconds(5)
    /// The window over which CPU use is measured, ending at each sample; at most `interval` because
    /// windows of consecutive samples must not overlap. Key `cpu-window`.
    public var cpuWindow: Duration = .seconds(4)
    /// Samples kept while no gateway is reachable, delivered once one is; the oldest are dropped beyond
    /// it. The default holds 24 h at 5 s. Key `buffer-samples`.
    public var bufferCapacity = 17280
    /// The shared secret the gateway's `tokens-file` holds for this agent's name; empty: none.
    /// Key `token`. Use it with `tls = yes`: on plain TCP it travels in clear.
    public var token: String?
    /// Whether to speak TLS to the gateway. Key `tls` (yes/no).
    public var tls = false
    /// CA certificates (PEM) the gateway's certificate must chain to; empty: the system's trust store.
    /// Key `tls-ca-file`.
    public var tlsCAFile: String?
    /// The name the gateway's certificate must carry; empty: the host of the `server` entry.
    /// Key `tls-server-name`.
    public var tlsServerName: String?
    /// Client certificate and key (PEM), for gateways that require mutual TLS. Keys `tls-certificate`, `tls-key`.
    public var tlsIdentity = TLSIdentityFiles()
    /// Key `log-level`.
    public var logLevel = LogLevelName.info
    /// Where samples are kept on disk until the gateway acknowledges them, so that they survive a
    /// restart or a kill; empty means memory only. The systemd unit's state directory,
    /// `/var/lib/monitor-agent`, is the place for it. Key `spool-directory`.
    public var spoolDirectory = ""
    /// The most bytes the spool's files may take; beyond it the oldest samples are dropped. Key `spool-max-size`.
    public var spoolMaxBytes = 64 << 20
    /// When spooled samples are flushed to stable storage (see ``SpoolFsyncPolicy``). Key `spool-fsync`.
    public var spoolFsync = SpoolFsyncPolicy.always

    /// All defaults.
    public init() {}

    /// The name announced to the gateway.
    public func resolvedName(hostName: String) -> String {
        name.isEmpty ? hostName : name
    }

    /// With `name` empty the host name is the agent's name, and a host name may be anything Linux
    /// allows (`agent_5`, a space): one the gateway would refuse is a configuration error at start
    /// and in `--check-config`, not a hello refused for ever.
    public func checkResolvedName(hostName: String, file: String) throws(ConfigurationError) {
        guard name.isEmpty else { return }
        do throws(InvalidAgentName) {
            try AgentName.validate(hostName)
        } catch {
            throw ConfigurationError(
                file: file, line: nil,
                message:
                    "name is empty, so the host name \(hostName.quoted) would be the agent's name, but \(error.reason); set name = in [agent]"
            )
        }
    }

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> AgentConfiguration {
        let document = try INIParser.parse(text, file: file, schema: schema)
        let values = ConfigurationValues(file: file)
        var configuration = AgentConfiguration()
        let lines = try keys.read(document.entries(in: section), into: &configuration, file: file)
        try configuration.tlsIdentity.checkBothOrNeither(lines: lines, file: file)
        if configuration.cpuWindow > configuration.interval {
            let window = configuration.cpuWindow.configurationText
            let interval = configuration.interval.configurationText
            let reason = "the CPU is measured within each interval, so the window cannot be longer"
            if let windowEntry = lines["cpu-window"],
                lines["interval"].map({ $0.line < windowEntry.line }) ?? true
            {
                throw values.failure(windowEntry, "\(window) is longer than interval (\(interval)); \(reason)")
            }
            let origin = lines["cpu-window"] == nil ? ", the default" : ""
            throw ConfigurationError(
                file: file, line: lines["interval"]?.line,
                message: "interval: \(interval) is shorter than cpu-window (\(window)\(origin)); \(reason)")
        }
        return configuration
    }

    /// The hello carries 1 to 256 bytes (docs/protocol.md): a longer token would be refused by every
    /// gateway at every connection, so it is refused here, where the operator looks. Empty: none.
    static func validatedToken(_ entry: ConfigurationEntry, values: ConfigurationValues) throws(ConfigurationError)
        -> String?
    {
        guard entry.value.utf8.count <= 256 else {
            throw values.failure(entry, "at most 256 bytes (found \(entry.value.utf8.count))")
        }
        return entry.value.isEmpty ? nil : entry.value
    }

    /// The configured name, checked by the rules of ``AgentName`` (empty: the host name).
    static func validatedName(_ entry: ConfigurationEntry, values: ConfigurationValues) throws(ConfigurationError)
        -> String
    {
        let name = entry.value
        if name.isEmpty { return name }
        if AgentName.isReserved(name) {
            throw values.failure(entry, "\(name.quoted) is reserved for agents speaking the report's format")
        }
        guard name.unicodeScalars.count <= AgentName.maximumLength else {
            throw values.failure(entry, "\(name.quoted) is longer than \(AgentName.maximumLength) characters")
        }
        guard AgentName.hasOnlyAllowedCharacters(name) else {
            throw values.failure(entry, "\(name.quoted) may only contain letters, digits, \".\", \"_\" and \"-\"")
        }
        return name
    }

    static func spoolDirectory(_ entry: ConfigurationEntry, values: ConfigurationValues) throws(ConfigurationError)
        -> String
    {
        guard entry.value.isEmpty || entry.value.hasPrefix("/") else {
            throw values.failure(entry, "\(entry.value.quoted) is not an absolute path (or empty for no spool)")
        }
        return entry.value
    }

    static func spoolFsync(_ entry: ConfigurationEntry, values: ConfigurationValues) throws(ConfigurationError)
        -> SpoolFsyncPolicy
    {
        guard let policy = SpoolFsyncPolicy.parse(entry.value) else {
            throw values.failure(entry, "\(entry.value.quoted) is not always, never or a duration (e.g. 1s)")
        }
        return policy
    }

    /// What exposes the token, to be logged at start and reload and printed by `--check-config`:
    /// a token sent over plain TCP, or a configuration file holding it that other users can read.
    public func securityWarnings(path: String?) -> [String] {
        guard token != nil else { return [] }
        var warnings: [String] = []
        if !tls {
            warnings.append(
                "token is sent over plain TCP (tls = no): anyone on the path can read it; set tls = yes")
        }
        if let path, let problem = SecretFileMode.exposure(of: path) {
            warnings.append("\(path) holds a token but \(problem)")
        }
        return warnings
    }

    public static func load(path: String) throws(ConfigurationError) -> AgentConfiguration {
        try parse(ConfigurationFile.read(path: path), file: path)
    }

    /// The effective configuration as a file `parse` accepts back, except that a token is never
    /// shown (a line saying it is set takes its place): this text lands in terminals and tickets.
    public func rendered() -> String {
        "# Effective configuration of monitor-agent (defaults filled in).\n"
            + Self.keys.rendered(self, section: Self.section)
    }
}
