public import MonitorConfig
import MonitorSystem
import NIOSSL
import Yams

/// The web config file of `web-config-file`: the format prometheus/exporter-toolkit defines and
/// node_exporter, the Pushgateway and Prometheus itself read with `--web.config.file`, so one file
/// serves them all.
///
/// What monitord can honour it honours; the keys it cannot (`cipher_suites`, `curve_preferences`,
/// `client_allowed_sans`, `rate_limit`, `http2: true`) are refused with their line rather than
/// ignored, so that nobody believes a restriction is in force that is not.
public struct WebConfig: Sendable {
    /// The file is read whole; a web config file is a few hundred bytes.
    static let topKeys = ["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"]
    static let tlsKeys = [
        "cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file",
        "client_allowed_sans", "min_version", "max_version", "cipher_suites", "prefer_server_cipher_suites",
        "curve_preferences",
    ]
    static let httpKeys = ["http2", "headers"]
    /// The headers the toolkit lets a file set, and the values it allows where it restricts them.
    static let headerRules: [(name: String, values: [String]?)] = [
        ("Content-Security-Policy", nil), ("X-Frame-Options", ["deny", "sameorigin"]),
        ("X-Content-Type-Options", ["nosniff"]), ("X-XSS-Protection", nil), ("Strict-Transport-Security", nil),
    ]

    public var tls: WebTLSSettings?
    public var users: [String: BcryptHash] = [:]
    public var headers: [(name: String, value: String)] = []

    /// Reads and checks the file, loading every certificate and key it names.
    public static func load(path: String) throws(ConfigurationError) -> WebConfig {
        try parse(ConfigurationFile.read(path: path), file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> WebConfig {
        let yaml = YAMLDocument(file: file)
        let root = try yaml.root(text)
        var config = WebConfig()
        for (key, keyNode, value) in try yaml.mapping(root, "the web config file", allowed: topKeys) {
            switch key {
            case "tls_server_config": config.tls = try tlsSettings(value, yaml: yaml)
            case "http_server_config": config.headers = try headers(value, yaml: yaml)
            case "basic_auth_users": config.users = try users(value, yaml: yaml)
            default:
                throw yaml.error(
                    keyNode,
                    "rate_limit is not supported by monitord; remove it (the agent port has its own limits, the HTTP port serves scrapes)"
                )
            }
        }
        return config
    }

    private static func users(_ node: Node, yaml: YAMLDocument) throws(ConfigurationError) -> [String: BcryptHash] {
        var users: [String: BcryptHash] = [:]
        for (user, keyNode, value) in try yaml.mapping(node, "basic_auth_users") {
            guard !user.isEmpty, !user.contains(":") else {
                throw yaml.error(
                    keyNode, "user \(user.quoted): a basic-auth user name must be non-empty and without \":\"")
            }
            let text = try yaml.string(value, key: user)
            do {
                users[user] = try BcryptHash(text)
            } catch {
                throw yaml.error(value, "user \(user): password hash \(error.message)")
            }
        }
        return users
    }

    private static func headers(_ node: Node, yaml: YAMLDocument) throws(ConfigurationError) -> [(
        name: String, value: String
    )] {
        var headers: [(name: String, value: String)] = []
        for (key, keyNode, value) in try yaml.mapping(node, "http_server_config", allowed: httpKeys) {
            if key == "http2" {
                if try yaml.boolean(value, key: key) {
                    throw yaml.error(
                        keyNode,
                        "http2: true cannot be honoured: monitord's HTTP port speaks HTTP/1.1; remove it or set false")
                }
                continue
            }
            let allowed = headerRules.map(\.name)
            for (name, nameNode, valueNode) in try yaml.mapping(value, "headers", allowed: allowed) {
                let text = try yaml.string(valueNode, key: name)
                guard !text.isEmpty else { continue }  // blank: unset, as in the toolkit
                guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                    throw yaml.error(valueNode, "\(name) contains control characters")
                }
                if let values = headerRules.first(where: { $0.name == name })?.values,
                    !values.contains(text.lowercased())
                {
                    throw yaml.error(nameNode, "\(name) must be one of \(values.joined(separator: ", "))")
                }
                headers.append((name, text))
            }
        }
        return headers
    }

    private static func tlsSettings(_ node: Node, yaml: YAMLDocument) throws(ConfigurationError) -> WebTLSSettings? {
        var values: [String: (keyNode: Node, value: Node)] = [:]
        for (key, keyNode, value) in try yaml.mapping(node, "tls_server_config", allowed: tlsKeys) {
            values[key] = (keyNode, value)
        }
        func text(_ key: String) throws(ConfigurationError) -> String? {
            guard let entry = values[key] else { return nil }
            let value = try yaml.string(entry.value, key: key)
            return value.isEmpty ? nil : value
        }
        for key in ["cipher_suites", "curve_preferences", "client_allowed_sans"] {
            if let entry = values[key], !(try yaml.strings(entry.value, key: key)).isEmpty {
                throw yaml.error(
                    entry.keyNode,
                    "\(key) is not supported by monitord (its TLS library cannot be told this in the toolkit's terms); remove it"
                )
            }
        }
        if let entry = values["prefer_server_cipher_suites"] {
            // Checked, then moot: Go ignores it since 1.18, and without cipher_suites there is no order to prefer.
            _ = try yaml.boolean(entry.value, key: "prefer_server_cipher_suites")
        }
        let certFile = try text("cert_file")
        let keyFile = try text("key_file")
        let inlineCert = try text("cert")
        let inlineKey = try text("key")
        let clientCAFile = try text("client_ca_file")
        let inlineClientCA = try text("client_ca")
        let authText = try text("client_auth_type")
        let nothing = [certFile, keyFile, inlineCert, inlineKey, clientCAFile, inlineClientCA, authText]
            .allSatisfy { $0 == nil }
        if nothing { return nil }  // An empty tls_server_config is plain HTTP, as in the toolkit.
        let line = values.values.map(\.keyNode).min { ($0.mark?.line ?? 0) < ($1.mark?.line ?? 0) }
        func missing(_ message: String) -> ConfigurationError { yaml.error(line, message) }

        if certFile != nil, inlineCert != nil {
            throw yaml.error(values["cert"]?.keyNode, "cert and cert_file exclude each other")
        }
        if keyFile != nil, inlineKey != nil {
            throw yaml.error(values["key"]?.keyNode, "key and key_file exclude each other")
        }
        if clientCAFile != nil, inlineClientCA != nil {
            throw yaml.error(values["client_ca"]?.keyNode, "client_ca and client_ca_file exclude each other")
        }
        guard certFile != nil || inlineCert != nil else { throw missing("tls_server_config needs cert_file (or cert)") }
        guard keyFile != nil || inlineKey != nil else { throw missing("tls_server_config needs key_file (or key)") }

        var clientAuth = WebTLSSettings.ClientAuth.noClientCert
        if let authText {
            guard let value = WebTLSSettings.ClientAuth(rawValue: authText) else {
                throw yaml.error(
                    values["client_auth_type"]?.value,
                    "client_auth_type \(authText.quoted) is not one of \(WebTLSSettings.ClientAuth.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            clientAuth = value
        }
        let hasClientCA = clientCAFile != nil || inlineClientCA != nil
        if hasClientCA, !clientAuth.verifies {
            throw yaml.error(
                values["client_ca_file"]?.keyNode ?? values["client_ca"]?.keyNode,
                "a client CA is given but client_auth_type \(clientAuth.rawValue) does not verify client certificates; "
                    + "use RequireAndVerifyClientCert (or VerifyClientCertIfGiven)")
        }
        if clientAuth.verifies, !hasClientCA {
            throw yaml.error(
                values["client_auth_type"]?.keyNode, "client_auth_type \(clientAuth.rawValue) needs client_ca_file")
        }
        let minimum = try version("min_version", default: "TLS12", values: values, yaml: yaml)
        let maximum = try version("max_version", default: "TLS13", values: values, yaml: yaml)
        guard minimum.index <= maximum.index else {
            throw yaml.error(values["min_version"]?.keyNode, "min_version is above max_version")
        }

        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        var clientCAs: [NIOSSLCertificate] = []
        do {
            chain = try certificates(file: certFile, inline: inlineCert, what: "cert")
            key = try privateKey(file: keyFile, inline: inlineKey)
            if hasClientCA {
                clientCAs = try certificates(file: clientCAFile, inline: inlineClientCA, what: "client_ca")
            }
        } catch {
            throw yaml.error(values[error.key]?.keyNode, error.message)
        }
        do {
            return try WebTLSSettings(
                chain: chain, key: key, clientAuth: clientAuth, clientCAs: clientCAs,
                minimum: WebTLSSettings.versions[minimum.index].version,
                maximum: WebTLSSettings.versions[maximum.index].version)
        } catch {
            throw missing("cannot set up TLS with this certificate and key: \(error)")
        }
    }

    private static func version(
        _ key: String, default name: String, values: [String: (keyNode: Node, value: Node)], yaml: YAMLDocument
    ) throws(ConfigurationError) -> (name: String, index: Int) {
        var text = name
        if let entry = values[key] {
            let given = try yaml.string(entry.value, key: key)
            if !given.isEmpty { text = given }
        }
        guard let index = WebTLSSettings.versions.firstIndex(where: { $0.name == text }) else {
            throw yaml.error(
                values[key]?.value,
                "\(key) \(text.quoted) is not one of \(WebTLSSettings.versions.map(\.name).joined(separator: ", "))")
        }
        return (text, index)
    }

    private struct PEMFailure: Error {
        var key: String
        var message: String
    }

    private static func certificates(file: String?, inline: String?, what: String) throws(PEMFailure)
        -> [NIOSSLCertificate]
    {
        let key = file != nil ? "\(what)_file" : what
        let pem = try contents(file: file, inline: inline, key: key)
        do {
            let certificates = try NIOSSLCertificate.fromPEMBytes(pem)
            guard !certificates.isEmpty else { throw PEMFailure(key: key, message: "") }
            return certificates
        } catch {
            throw PEMFailure(
                key: key,
                message: "\(key)\(file.map { " \($0)" } ?? ""): cannot load PEM certificates (unreadable, or not PEM)")
        }
    }

    /// The PEM text, read here so that an unreadable file is reported with the system's reason.
    private static func contents(file: String?, inline: String?, key: String) throws(PEMFailure) -> [UInt8] {
        guard let file else { return Array((inline ?? "").utf8) }
        do {
            return Array(try ConfigurationFile.read(path: file).utf8)
        } catch {
            throw PEMFailure(key: key, message: "\(key) \(error.description)")
        }
    }

    private static func privateKey(file: String?, inline: String?) throws(PEMFailure) -> NIOSSLPrivateKey {
        let key = file != nil ? "key_file" : "key"
        let pem = try contents(file: file, inline: inline, key: key)
        do {
            return try NIOSSLPrivateKey(bytes: pem, format: .pem)
        } catch {
            throw PEMFailure(
                key: key,
                message:
                    "\(key)\(file.map { " \($0)" } ?? ""): cannot load the PEM private key (unreadable, or not PEM)")
        }
    }
}
