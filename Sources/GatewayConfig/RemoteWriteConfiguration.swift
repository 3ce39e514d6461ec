public import MonitorConfig
public import MonitorModel
import MonitorSystem

/// Section `[remote-write]` of `monitord.conf`: forward every accepted sample to a Prometheus
/// remote-write 1.0 receiver (Prometheus, Mimir, Thanos Receive, Cortex, VictoriaMetrics).
///
/// Absent section: no forwarding, and nothing of this runs. Present section: `url` is required,
/// every other key has a default chosen after Prometheus' own `queue_config`.
public struct RemoteWriteConfiguration: Sendable, Equatable {
    public static let section = "remote-write"
    /// Every key of the section, in the order `rendered()` writes them; the schema, parse and
    /// rendering. An optional key that is not set is left out of the rendering.
    static let keys: [ConfigurationKey<RemoteWriteConfiguration>] = [
        ConfigurationKey("url", \.url, parse: endpoint, render: { "\($0)" }),
        .integer("queue-capacity", \.queueCapacity, in: queueCapacityRange),
        .integer("max-samples-per-send", \.maxSamplesPerSend, in: batchSizeRange),
        .duration("flush-interval", \.flushInterval, atLeast: .milliseconds(10)),
        .duration("timeout", \.timeout, atLeast: .milliseconds(100)),
        .duration("min-backoff", \.minBackoff, atLeast: .milliseconds(1)),
        .duration("max-backoff", \.maxBackoff, atLeast: .milliseconds(1)),
        ConfigurationKey(
            "external-labels", \.externalLabels, parse: externalLabels,
            line: { "external-labels = " + $0.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") }),
        // 0 is off (the default); rendered after external-labels, where it has always been.
        ConfigurationKey(
            "max-sample-age", \.maxSampleAge,
            parse: { entry, values throws(ConfigurationError) in
                entry.value == "0" ? nil : try values.duration(entry, atLeast: .seconds(1))
            }, render: { $0.map(\.configurationText) ?? "0" }),
        .setting("basic-auth-username", \.basicAuthUsername, renderedWith: \Self.basicAuthPasswordFile) {
            entry, values throws(ConfigurationError) in
            guard !entry.value.isEmpty, !entry.value.contains(":") else {
                throw values.failure(entry, "must be a non-empty name without \":\"")
            }
        },
        .setting("basic-auth-password-file", \.basicAuthPasswordFile, renderedWith: \Self.basicAuthUsername) {
            entry, values throws(ConfigurationError) in _ = try secret(entry, values: values)
        },
        .setting("bearer-token-file", \.bearerTokenFile) { entry, values throws(ConfigurationError) in
            _ = try secret(entry, values: values)
        },
        .setting("tls-ca-file", \.tlsCAFile),
        .setting("tls-certificate", \.tlsIdentity.certificate, renderedWith: \Self.tlsIdentity.key),
        .setting("tls-key", \.tlsIdentity.key, renderedWith: \Self.tlsIdentity.certificate),
        .setting("tls-server-name", \.tlsServerName) { entry, values throws(ConfigurationError) in
            guard entry.value.isEmpty || isServerName(entry.value) else {
                throw values.failure(
                    entry, "\(entry.value.quoted) is not a DNS name (letters, digits, \"-\" and \".\")")
            }
        },
        .setting("tenant-id", \.tenantID) { entry, values throws(ConfigurationError) in
            guard entry.value.isEmpty || isTenantID(entry.value) else {
                throw values.failure(
                    entry,
                    "\(entry.value.quoted) is not a tenant ID (at most 150 of a-z A-Z 0-9 ! - _ . * ' ( ), not \".\" or \"..\")"
                )
            }
        },
    ]
    /// The keys that only mean something with an `https://` url.
    static let tlsKeys = ["tls-ca-file", "tls-certificate", "tls-key", "tls-server-name"]
    /// Bounds of `queue-capacity`, in samples: at least one agent sample (four series samples); at most
    /// about 1 GiB of queued samples, so a typo cannot make the gateway grow without bound.
    public static let queueCapacityRange = 4...10_000_000
    /// Bounds of `max-samples-per-send`: receivers commonly refuse bodies beyond a few MiB.
    public static let batchSizeRange = 4...100_000

    /// The receiver, e.g. `http://127.0.0.1:9090/api/v1/write`. Key `url`.
    public var url: RemoteWriteEndpoint
    /// Samples (four per agent sample) held while the receiver is slow or down; when full, the oldest
    /// are dropped and counted. Key `queue-capacity`.
    public var queueCapacity = 100_000
    /// Samples per request at most. Key `max-samples-per-send`.
    public var maxSamplesPerSend = 2000
    /// A partial batch is sent once its oldest sample has waited this long. Key `flush-interval`.
    public var flushInterval: Duration = .seconds(5)
    /// Connect plus request plus response, for one attempt. Key `timeout`.
    public var timeout: Duration = .seconds(30)
    /// First retry delay; doubled at each failed attempt, up to `maxBackoff`, with full jitter. Key `min-backoff`.
    public var minBackoff: Duration = .milliseconds(100)
    /// Key `max-backoff`.
    public var maxBackoff: Duration = .seconds(10)
    /// Labels added to every forwarded series, sorted into place. Default `job="monitord"`; never the
    /// gateway's host name, so that an agent failing over to another gateway continues the same series.
    /// Key `external-labels`, e.g. `job=monitord, region=eu-west`.
    public var externalLabels: [MetricLabel] = [MetricLabel(name: "job", value: "monitord")]
    /// HTTP basic authentication: the user name, with the password read from a file. Keys
    /// `basic-auth-username` and `basic-auth-password-file`, both or neither.
    public var basicAuthUsername: String?
    public var basicAuthPasswordFile: String?
    /// `Authorization: Bearer <token>`, the token read from this file (trailing newline removed).
    /// Key `bearer-token-file`; excludes basic auth.
    public var bearerTokenFile: String?
    /// CA certificates (PEM) the receiver's certificate must chain to; nil: the system's trust store.
    /// Key `tls-ca-file`.
    public var tlsCAFile: String?
    /// Client certificate chain and key (PEM), for a receiver that asks for one (mutual TLS). Keys
    /// `tls-certificate` and `tls-key`, both or neither.
    public var tlsIdentity = TLSIdentityFiles()
    /// The name the receiver's certificate must carry, and the SNI sent, instead of the URL's host
    /// (a receiver reached by address, or through a tunnel). Key `tls-server-name`.
    public var tlsServerName: String?
    /// Sent as `X-Scope-OrgID`, the tenant header of Mimir, Cortex, Loki and VictoriaMetrics' vmauth.
    /// Key `tenant-id`.
    public var tenantID: String?
    /// Samples older than this when their batch is sent are dropped (counted as `too_old`) instead of
    /// sent; nil (`0`, the default) sends every sample, however old. Off by default because what a
    /// receiver takes differs: a stock Prometheus refuses samples more than about an hour older than
    /// its newest (these are then singled out by splitting the refused batch, and dropped as
    /// `refused`), while VictoriaMetrics, or Mimir with an out-of-order window, take hours-old samples
    /// gladly, and an agent back from an outage should lose none there. Key `max-sample-age`.
    public var maxSampleAge: Duration?

    public init(url: RemoteWriteEndpoint) {
        self.url = url
    }

    static func parse(_ entries: [ConfigurationEntry], file: String) throws(ConfigurationError)
        -> RemoteWriteConfiguration?
    {
        guard !entries.isEmpty else { return nil }
        let values = ConfigurationValues(file: file)
        // url first: there is no configuration without it.
        guard let urlEntry = entries.last(where: { $0.key == "url" }) else {
            throw ConfigurationError(
                file: file, line: entries.first?.line,
                message: "[remote-write] needs url (e.g. url = http://127.0.0.1:9090/api/v1/write)")
        }
        var configuration = RemoteWriteConfiguration(url: try endpoint(urlEntry, values: values))
        let lines = try keys.read(entries, into: &configuration, file: file)
        if configuration.maxBackoff < configuration.minBackoff, let entry = lines["max-backoff"] ?? lines["min-backoff"]
        {
            throw values.failure(
                entry,
                "max-backoff (\(configuration.maxBackoff.configurationText)) must not be shorter than min-backoff (\(configuration.minBackoff.configurationText))"
            )
        }
        if (configuration.basicAuthUsername == nil) != (configuration.basicAuthPasswordFile == nil) {
            let entry = lines["basic-auth-username"] ?? lines["basic-auth-password-file"]
            throw ConfigurationError(
                file: file, line: entry?.line,
                message: "basic-auth-username and basic-auth-password-file go together: set both or neither")
        }
        if configuration.bearerTokenFile != nil, configuration.basicAuthUsername != nil {
            throw ConfigurationError(
                file: file, line: lines["bearer-token-file"]?.line,
                message: "bearer-token-file and basic auth exclude each other: choose one")
        }
        try checkTLS(configuration, lines: lines, values: values, file: file)
        return configuration
    }

    private static func endpoint(_ entry: ConfigurationEntry, values: ConfigurationValues) throws(ConfigurationError)
        -> RemoteWriteEndpoint
    {
        switch RemoteWriteEndpoint.parse(entry.value) {
        case .success(let endpoint): return endpoint
        case .failure(let error): throw values.failure(entry, "\(entry.value.quoted) \(error.message)")
        }
    }

    /// TLS keys need an https url, a certificate needs its key, and every file must load now, so that
    /// `--check-config` and a reload catch what the first request would otherwise fail on.
    private static func checkTLS(
        _ configuration: RemoteWriteConfiguration, lines: [String: ConfigurationEntry], values: ConfigurationValues,
        file: String
    ) throws(ConfigurationError) {
        if configuration.url.scheme == .http,
            let entry = tlsKeys.compactMap({ lines[$0] }).first(where: { !$0.value.isEmpty })
        {
            throw values.failure(entry, "only applies to an https:// url")
        }
        try configuration.tlsIdentity.checkBothOrNeither(lines: lines, file: file)
        for (key, marker) in [
            ("tls-ca-file", "CERTIFICATE-----"), ("tls-certificate", "CERTIFICATE-----"),
            ("tls-key", "PRIVATE KEY-----"),
        ] {
            guard let entry = lines[key], !entry.value.isEmpty else { continue }
            try checkPEM(entry, marker: marker, values: values)
        }
    }

    /// A PEM file the TLS keys name must be readable and look like PEM now; whether it parses, and
    /// whether the key fits the certificate, is checked by the TLS layer when monitord (or
    /// `--check-config`) builds the client context.
    private static func checkPEM(_ entry: ConfigurationEntry, marker: String, values: ConfigurationValues)
        throws(ConfigurationError)
    {
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path: entry.value, limit: 1 << 20)
        } catch {
            switch error {
            case .tooLarge: throw values.failure(entry, "\(entry.value.quoted) is larger than 1 MiB; not a PEM file")
            case .system(let reason): throw values.failure(entry, "\(entry.value.quoted): cannot read: \(reason)")
            }
        }
        guard bytes.contains(bytes: "-----BEGIN ".utf8), bytes.contains(bytes: marker.utf8) else {
            throw values.failure(entry, "\(entry.value.quoted) holds no PEM \(marker.dropLast(5).lowercased())")
        }
    }

    private static func isServerName(_ name: String) -> Bool {
        name.utf8.count <= 253 && !name.hasPrefix(".") && !name.hasPrefix("-")
            && name.utf8.allSatisfy { byte in
                (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == 0x2D || byte == 0x2E
            }
            && !name.utf8.allSatisfy { $0 == 0x2E || (0x30...0x39).contains($0) }
    }

    /// Mimir's and Cortex's rule for tenant IDs.
    private static func isTenantID(_ id: String) -> Bool {
        let punctuation = Set("!-_.*'()".utf8)
        return id.utf8.count <= 150 && id != "." && id != ".."
            && id.utf8.allSatisfy { byte in
                (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte)
                    || punctuation.contains(byte)
            }
    }

    /// `name=value, name=value`; names as Prometheus allows, never reserved (`__...`) nor `agent_number`.
    private static func externalLabels(
        _ entry: ConfigurationEntry, values: ConfigurationValues
    ) throws(ConfigurationError) -> [MetricLabel] {
        guard !entry.value.isEmpty else { return [] }
        var labels: [MetricLabel] = []
        for item in entry.value.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = INIParser.trimmed(item)
            guard let equals = pair.firstIndex(of: "=") else {
                throw values.failure(entry, "\(pair.quoted) is not name=value (e.g. job=monitord, region=eu)")
            }
            let name = String(INIParser.trimmed(pair[..<equals]))
            let value = String(INIParser.trimmed(pair[pair.index(after: equals)...]))
            guard isLabelName(name), !name.hasPrefix("__"), name != "agent_number" else {
                throw values.failure(
                    entry,
                    "\(name.quoted) is not a label name monitord may add ([a-zA-Z_][a-zA-Z0-9_]*, not __* nor agent_number)"
                )
            }
            guard !value.isEmpty else { throw values.failure(entry, "label \(name) has an empty value") }
            guard !labels.contains(where: { $0.name == name }) else {
                throw values.failure(entry, "label \(name) is given twice")
            }
            labels.append(MetricLabel(name: name, value: value))
        }
        return labels
    }

    private static func isLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F
        }
    }

    /// Reads a credentials file now, so that a missing or empty one is a configuration error at its line.
    static func secret(_ entry: ConfigurationEntry, values: ConfigurationValues) throws(ConfigurationError) -> String {
        do {
            return try readSecret(path: entry.value)
        } catch {
            throw values.failure(entry, "\(entry.value.quoted): \(error.message)")
        }
    }

    /// The content of a password or token file without its trailing line break (how such files are written).
    public static func readSecret(path: String) throws(CredentialFileError) -> String {
        guard !path.isEmpty else { throw CredentialFileError("a file path is required") }
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path: path, limit: 64 * 1024)
        } catch {
            switch error {
            case .tooLarge: throw CredentialFileError("larger than 64 KiB; not a credentials file")
            case .system(let reason): throw CredentialFileError("cannot read: \(reason)")
            }
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else { throw CredentialFileError("is empty") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw CredentialFileError("contains control characters or several lines")
        }
        return text
    }

    /// The section as `parse` accepts it back, for `--check-config --verbose`. File paths, never secrets.
    func rendered() -> String {
        Self.keys.rendered(self, section: Self.section)
    }
}

extension ConfigurationKey where Configuration == RemoteWriteConfiguration {
    /// An optional setting: empty means not set; `check` (when given) sees every value, empty
    /// included, before it is kept. Rendered only when set, and, for one of a pair that goes
    /// together (a user name and its password file, a certificate and its key), only when
    /// `partner` is set too.
    fileprivate static func setting(
        _ name: String, _ field: Field<String?>, renderedWith partner: Field<String?>? = nil,
        check: (@Sendable (ConfigurationEntry, ConfigurationValues) throws(ConfigurationError) -> Void)? = nil
    ) -> Self {
        Self(
            name,
            read: { configuration, entry, values throws(ConfigurationError) in
                try check?(entry, values)
                configuration[keyPath: field] = entry.value.isEmpty ? nil : entry.value
            },
            line: { configuration in
                guard let value = configuration[keyPath: field] else { return nil }
                if let partner, configuration[keyPath: partner] == nil { return nil }
                return "\(name) = \(value)"
            })
    }
}

/// Why a password or token file cannot be used; the message completes "<path>: ...".
public struct CredentialFileError: Error, Sendable {
    public var message: String
    init(_ message: String) { self.message = message }
}
