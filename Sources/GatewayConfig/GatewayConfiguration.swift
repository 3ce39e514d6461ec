public import MonitorConfig
import MonitorModel
import MonitorSystem

/// What `monitord` reads from `/etc/monitor/monitord.conf`, section `[monitord]`.
///
/// Every key has a default, so a missing file section (or a file of comments only) gives a working gateway
/// on the report's ports.
public struct GatewayConfiguration: Sendable, Equatable {
    public static let section = "monitord"
    /// Every key of the section, in the order `rendered()` writes them; the schema, parse and rendering.
    static let keys: [ConfigurationKey<GatewayConfiguration>] = [
        .hostPort("listen", \.listen),
        .hostPort("metrics-listen", \.metricsListen),
        .duration("agent-timeout", \.agentTimeout),
        .duration("forget-after", \.forgetAfter),
        .duration("hello-timeout", \.helloTimeout),
        .size("max-message-size", \.maxMessageBytes, in: messageSizeRange),
        .boolean("allow-legacy-agents", \.allowReportFormatAgents),
        .integer("max-connections", \.maxConnections, in: limitRange),
        .integer("max-connections-per-address", \.maxConnectionsPerAddress, in: limitRange),
        .integer("max-agents", \.maxAgents, in: limitRange),
        .integer("max-samples-per-second", \.maxSamplesPerSecond, in: limitRange),
        .optionalText("tokens-file", \.tokensFile),
        .optionalText("tls-certificate", \.tlsIdentity.certificate),
        .optionalText("tls-key", \.tlsIdentity.key),
        .optionalText("tls-client-ca-file", \.tlsClientCAFile),
        .logLevel("log-level", \.logLevel),
        .optionalText("web-config-file", \.webConfigFile),
        .integer("max-anonymous-agents", \.maxAnonymousAgents, in: limitRange),
        .duration("forget-anonymous-after", \.forgetAnonymousAfter),
        .duration("clock-skew-tolerance", \.clockSkewTolerance),
        .integer("max-http-connections", \.maxHTTPConnections, in: httpConnectionRange),
        .duration("http-request-timeout", \.httpRequestTimeout, atLeast: .milliseconds(100)),
        ConfigurationKey(
            "acknowledge", \.acknowledge,
            parse: { entry, values throws(ConfigurationError) in
                guard let mode = AcknowledgeMode(rawValue: entry.value) else {
                    throw values.failure(entry, "\(entry.value.quoted) is not received, durable or forwarded")
                }
                return mode
            }, render: \.rawValue),
        ConfigurationKey(
            "wal-directory", \.walDirectory,
            parse: { entry, values throws(ConfigurationError) in
                guard entry.value.isEmpty || entry.value.hasPrefix("/") else {
                    throw values.failure(entry, "\(entry.value.quoted) is not an absolute path (or empty for no log)")
                }
                return entry.value.isEmpty ? nil : entry.value
            }, render: { $0 ?? "" }),
        ConfigurationKey(
            "wal-fsync", \.walFsyncPeriod,
            parse: { entry, values throws(ConfigurationError) in
                if entry.value == "always" { return nil }
                guard let period = Duration(configurationText: entry.value), period > .zero else {
                    throw values.failure(entry, "\(entry.value.quoted) is not always or a duration (e.g. 100ms)")
                }
                return period
            }, render: { $0.map(\.configurationText) ?? "always" }),
        .size("wal-max-size", \.walMaxBytes, in: walSizeRange),
    ]
    static let schema = ConfigurationSchema(sections: [
        keys.schema(section: section), RemoteWriteConfiguration.keys.schema(section: RemoteWriteConfiguration.section),
    ])
    /// Bounds of `max-message-size`: below 1 KiB not even a hello fits; above 16 MiB one peer could make
    /// the gateway buffer a lot of memory before the message is rejected.
    public static let messageSizeRange = 1024...(16 << 20)

    /// Where agents connect (native protocol and the report's format). Key `listen`.
    public var listen = HostPort(host: "0.0.0.0", port: 5578)
    /// Where Prometheus scrapes `/metrics`. Key `metrics-listen`.
    public var metricsListen = HostPort(host: "0.0.0.0", port: 8001)
    /// An agent silent this long is marked down and its four series are dropped, so dashboards do not show
    /// stale values as current. Key `agent-timeout`.
    public var agentTimeout: Duration = .seconds(30)
    /// After this long down, the agent's self-metrics go too, so that agents retired for good do not
    /// accumulate series forever. At least `agentTimeout`. Key `forget-after`.
    public var forgetAfter: Duration = .seconds(3600)
    /// A native peer must say who it is within this time, or the connection is closed; a peer that says
    /// nothing but sends the report format is a report-format peer. Key `hello-timeout`.
    public var helloTimeout: Duration = .seconds(10)
    /// Largest single message accepted from a peer; bigger ones close the connection. Key `max-message-size`.
    public var maxMessageBytes = 65536
    /// Whether peers speaking the report's format (no hello) are accepted. Key `allow-legacy-agents`.
    public var allowReportFormatAgents = true
    /// Open connections on the agent port, all peers together; more are refused with an error line, so
    /// that file descriptors and memory are bounded by configuration, not by peers. Key `max-connections`.
    public var maxConnections = 20000
    /// Open connections from one source address that have not identified themselves yet (no accepted native
    /// hello): a native agent that said hello no longer counts, so a fleet behind one NAT is never locked out;
    /// report-format peers, which never identify themselves, count for as long as they are connected.
    /// Key `max-connections-per-address`.
    public var maxConnectionsPerAddress = 2000
    /// Distinct agents the gateway keeps (connected or not yet forgotten); a new name beyond it is refused.
    /// Key `max-agents`.
    public var maxAgents = 20000
    /// Of `maxAgents`, how many may be report-format peers (a new record on every connection, no name, no
    /// token), and apart from them how many may be agents that have not delivered a sample yet. Counted
    /// apart, so that a flood of report-format peers cannot keep new native agents out, and neither kind
    /// can crowd out the fleet. Key `max-anonymous-agents`.
    public var maxAnonymousAgents = 1000

    /// The anonymous quota in force, for each of the two kinds: `maxAnonymousAgents`, but never more than a
    /// quarter of `maxAgents`, so that the fleet keeps at least half of the slots whatever the keys say.
    public var anonymousAgentQuota: Int { min(maxAnonymousAgents, max(maxAgents / 4, 1)) }
    /// Report-format records are forgotten this long after they disconnected, instead of `forgetAfter`: no
    /// later connection can take them up again. (Agents that never delivered a sample are forgotten as soon as
    /// they disconnect.) Key `forget-anonymous-after`.
    public var forgetAnonymousAfter: Duration = .seconds(300)
    /// How far a sample's `ts` may be ahead of the gateway's clock; a later one is kept with its time of
    /// arrival instead (and counted), so one bad clock cannot stop forwarding. Key `clock-skew-tolerance`.
    public var clockSkewTolerance: Duration = .seconds(60)
    /// Open connections on the HTTP port; more are answered 503 and closed. Key `max-http-connections`.
    public var maxHTTPConnections = 64
    /// An HTTP request must arrive whole within this time (of the connection, or of the previous
    /// response), or the connection is closed: peers trickling bytes cannot hold it. Key `http-request-timeout`.
    public var httpRequestTimeout: Duration = .seconds(10)
    /// Samples per second one connection may deliver; above it the gateway reads more slowly (TCP pushes
    /// back), so a replaying or misbehaving agent cannot starve the others. Nothing is dropped.
    /// Key `max-samples-per-second`.
    public var maxSamplesPerSecond = 2000
    /// File of `name token` lines; when set, native agents must present their token in the hello.
    /// Key `tokens-file` (empty: no tokens required).
    public var tokensFile: String?
    /// The tokens read from `tokensFile` by ``load(path:)``, so that `--check-config` and a reload
    /// validate that file too.
    public var tokens: AgentTokens?
    /// Certificate chain and private key (PEM) for TLS on the agent port; with them, native agents
    /// must use TLS (peers in the report's format may still use plain TCP if `allow-legacy-agents`).
    /// Keys `tls-certificate`, `tls-key`.
    public var tlsIdentity = TLSIdentityFiles()
    /// CA certificates (PEM) that agents' client certificates must chain to: mutual TLS. Key `tls-client-ca-file`.
    public var tlsClientCAFile: String?
    /// Key `log-level`.
    public var logLevel = LogLevelName.info
    /// TLS and basic auth of the HTTP port, in the exporter-toolkit format node_exporter reads with
    /// `--web.config.file`. Key `web-config-file` (empty: plain HTTP, no authentication).
    public var webConfigFile: String?
    /// When an agent's sample is acknowledged. Key `acknowledge`.
    public var acknowledge = AcknowledgeMode.received
    /// The write-ahead log's directory; required by `durable` and `forwarded`. Key `wal-directory` (empty: no log).
    public var walDirectory: String?
    /// How often the log is fsynced: `nil` for `always` (group commit before every ack), else at most
    /// once per this period. Key `wal-fsync`.
    public var walFsyncPeriod: Duration?
    /// The most bytes the log's segments may take; beyond it the oldest records go. Key `wal-max-size`.
    public var walMaxBytes = 1 << 30
    /// Range of `wal-max-size`: below 1 MiB a log holds too little to be worth it.
    public static let walSizeRange = (1 << 20)...(1 << 40)
    /// Forwarding to a remote-write receiver; `nil` (no `[remote-write]` section) forwards nothing.
    public var remoteWrite: RemoteWriteConfiguration?

    /// Range of the connection and agent limits.
    public static let limitRange = 1...10_000_000
    /// Range of `max-http-connections`: a scraper and a few browsers need a handful; each holds a descriptor.
    public static let httpConnectionRange = 1...100_000

    /// All defaults.
    public init() {}

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> GatewayConfiguration {
        let document = try INIParser.parse(text, file: file, schema: schema)
        var configuration = GatewayConfiguration()
        let lines = try keys.read(document.entries(in: section), into: &configuration, file: file)
        if configuration.listen.overlaps(configuration.metricsListen) {
            // Blame the key the operator wrote last; if only one was written, that one.
            let culprit = [lines["listen"], lines["metrics-listen"]].compactMap { $0 }.max { $0.line < $1.line }
            throw ConfigurationError(
                file: file, line: culprit?.line,
                message:
                    "listen (\(configuration.listen)) and metrics-listen (\(configuration.metricsListen)) are the same "
                    + "address: the agent port and the metrics port need a port each")
        }
        try configuration.tlsIdentity.checkBothOrNeither(lines: lines, file: file)
        if configuration.tlsClientCAFile != nil, configuration.tlsIdentity.certificate == nil {
            throw ConfigurationError(
                file: file, line: lines["tls-client-ca-file"]?.line,
                message:
                    "tls-client-ca-file needs tls-certificate and tls-key: client certificates are checked only over TLS"
            )
        }
        if configuration.acknowledge == .durable, configuration.walDirectory == nil {
            throw ConfigurationError(
                file: file, line: lines["acknowledge"]?.line,
                message: "acknowledge = durable needs wal-directory: the write-ahead log is what makes a sample durable"
            )
        }
        configuration.remoteWrite = try RemoteWriteConfiguration.parse(
            document.entries(in: RemoteWriteConfiguration.section), file: file)
        if configuration.acknowledge == .forwarded {
            // Remote write forwards native samples from the log and records there how far the
            // receiver confirmed: that position is what a forwarded ack is mapped from.
            if configuration.remoteWrite == nil {
                throw ConfigurationError(
                    file: file, line: lines["acknowledge"]?.line,
                    message:
                        "acknowledge = forwarded needs a [remote-write] section: a sample is acknowledged once its receiver accepted it"
                )
            }
            if configuration.walDirectory == nil {
                throw ConfigurationError(
                    file: file, line: lines["acknowledge"]?.line,
                    message:
                        "acknowledge = forwarded needs wal-directory: remote write forwards from the write-ahead log, whose confirmed position is what acknowledges a sample"
                )
            }
        }
        if configuration.forgetAfter < configuration.agentTimeout {
            // Blame the key the operator wrote last; if only one was written, that one.
            let culprit = [lines["forget-after"], lines["agent-timeout"]].compactMap { $0 }.max { $0.line < $1.line }
            throw ConfigurationError(
                file: file, line: culprit?.line,
                message:
                    "forget-after (\(configuration.forgetAfter.configurationText)) must not be shorter than agent-timeout (\(configuration.agentTimeout.configurationText)): an agent is forgotten only after it is down"
            )
        }
        return configuration
    }

    public static func load(path: String) throws(ConfigurationError) -> GatewayConfiguration {
        var configuration = try parse(ConfigurationFile.read(path: path), file: path)
        if let tokensFile = configuration.tokensFile {
            configuration.tokens = try AgentTokens.load(path: tokensFile)
        }
        return configuration
    }

    /// The effective configuration as a file `parse` accepts back, for `--check-config` output and for
    /// logging what a reload changed.
    public func rendered() -> String {
        "# Effective configuration of monitord (defaults filled in).\n"
            + Self.keys.rendered(self, section: Self.section) + (remoteWrite.map { "\n" + $0.rendered() } ?? "")
    }
}
