public import DaemonKit
public import GatewayConfig
public import NIOSSL

extension TLSContexts {
    /// The gateway's server context, or nil without `tls-certificate`.
    public static func server(_ configuration: GatewayConfiguration) throws(Failure) -> NIOSSLContext? {
        guard let identity = configuration.tlsIdentity.paths else { return nil }
        let chain = try certificates(identity.certificate, key: "tls-certificate")
        let key = try privateKey(identity.key, key: "tls-key")
        var tls: TLSConfiguration
        if let clientCA = configuration.tlsClientCAFile {
            let roots = try certificates(clientCA, key: "tls-client-ca-file")
            tls = .makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key),
                trustRoots: .certificates(roots)
            )
        } else {
            tls = .makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
        tls.minimumTLSVersion = .tlsv12
        return try context(tls)
    }
}
