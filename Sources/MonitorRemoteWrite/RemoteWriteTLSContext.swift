public import DaemonKit
public import GatewayConfig
public import NIOSSL

extension TLSContexts {
    /// The remote-write client context for an `https://` url, or nil for `http://`. Verifies the
    /// receiver against `tls-ca-file` (or the system's store), and presents `tls-certificate` if set.
    public static func remoteWriteClient(_ configuration: RemoteWriteConfiguration) throws(Failure) -> NIOSSLContext? {
        guard configuration.url.scheme == .https else { return nil }
        return try clientContext(caFile: configuration.tlsCAFile, identity: configuration.tlsIdentity)
    }
}
