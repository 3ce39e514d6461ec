import NIOCore
import NIOSSL

/// `tls_server_config`, ready to put on connections: one context built when the file is read, and
/// per connection a handler that asks for, requires or verifies client certificates as
/// `client_auth_type` says (Go's `tls.ClientAuthType`, whose names the file uses).
public struct WebTLSSettings: Sendable {
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Whether a presented certificate is checked against `client_ca_file`.
        var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// The names `min_version` and `max_version` take.
    static let versions: [(name: String, version: TLSVersion)] = [
        ("TLS10", .tlsv1), ("TLS11", .tlsv11), ("TLS12", .tlsv12), ("TLS13", .tlsv13),
    ]

    let context: NIOSSLContext
    let clientAuth: ClientAuth

    init(
        chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, clientAuth: ClientAuth, clientCAs: [NIOSSLCertificate],
        minimum: TLSVersion, maximum: TLSVersion
    ) throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = minimum
        tls.maximumTLSVersion = maximum
        switch clientAuth {
        case .noClientCert:
            tls.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven:
            tls.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert:
            tls.certificateVerification = .noHostnameVerification
        }
        if clientAuth.verifies {
            tls.trustRoots = .certificates(clientCAs)
            // The CA names sent in the CertificateRequest, so clients pick the right certificate.
            tls.sendCANameList = true
        }
        self.context = try NIOSSLContext(configuration: tls)
        self.clientAuth = clientAuth
    }

    /// The TLS handler for one new connection.
    func handler() -> NIOSSLServerHandler {
        switch clientAuth {
        case .requestClientCert, .requireAnyClientCert:
            // Asked for (and, for RequireAny, required), but any certificate will do: that is
            // what these two policies mean in Go, and why the toolkit calls them insecure.
            return NIOSSLServerHandler(context: context) { _, promise in promise.succeed(.certificateVerified) }
        case .noClientCert, .verifyClientCertIfGiven, .requireAndVerifyClientCert:
            return NIOSSLServerHandler(context: context)
        }
    }

    func secure(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHandler(handler())
    }
}
