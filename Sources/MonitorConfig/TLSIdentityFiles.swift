/// A certificate chain and its private key, the PEM files that keys `tls-certificate` and `tls-key`
/// name: what a daemon presents over TLS (the gateway on its agent port; the agent and remote write
/// to a peer that asks for a client certificate). Both or neither, in every section that has them.
public struct TLSIdentityFiles: Sendable, Equatable {
    public var certificate: String?
    public var key: String?

    /// Neither file: no identity to present.
    public init() {}

    /// Both paths, when both are set: the identity to present.
    public var paths: (certificate: String, key: String)? {
        guard let certificate, let key else { return nil }
        return (certificate, key)
    }

    /// Refuses one of the two without the other, at the line of the one that is set.
    package func checkBothOrNeither(lines: [String: ConfigurationEntry], file: String) throws(ConfigurationError) {
        guard (certificate == nil) != (key == nil) else { return }
        let entry = lines["tls-certificate"] ?? lines["tls-key"]
        throw ConfigurationError(
            file: file, line: entry?.line, message: "tls-certificate and tls-key go together: set both, or neither")
    }
}
