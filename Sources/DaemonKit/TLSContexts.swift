public import MonitorConfig
import MonitorSystem
public import NIOSSL

/// Builds the TLS contexts of both daemons from their configuration, with errors that name the
/// file and the key that was wrong (a PEM that does not parse is the usual operator mistake).
public enum TLSContexts {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

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

    /// The agent's client context, or nil when `tls = no`.
    public static func client(_ configuration: AgentConfiguration) throws(Failure) -> NIOSSLContext? {
        guard configuration.tls else { return nil }
        return try clientContext(caFile: configuration.tlsCAFile, identity: configuration.tlsIdentity)
    }

    /// The remote-write client context for an `https://` url, or nil for `http://`. Verifies the
    /// receiver against `tls-ca-file` (or the system's store), and presents `tls-certificate` if set.
    public static func remoteWriteClient(_ configuration: RemoteWriteConfiguration) throws(Failure) -> NIOSSLContext? {
        guard configuration.url.scheme == .https else { return nil }
        return try clientContext(caFile: configuration.tlsCAFile, identity: configuration.tlsIdentity)
    }

    /// A client context (the agent's and remote write's): TLS 1.2 or later, verifying the server
    /// against `caFile` (or the system's store), presenting `identity` when both its files are set.
    private static func clientContext(caFile: String?, identity: TLSIdentityFiles) throws(Failure) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile {
            tls.trustRoots = .certificates(try certificates(caFile, key: "tls-ca-file"))
        }
        if let identity = identity.paths {
            tls.certificateChain = try certificates(identity.certificate, key: "tls-certificate").map {
                .certificate($0)
            }
            tls.privateKey = .privateKey(try privateKey(identity.key, key: "tls-key"))
        }
        return try context(tls)
    }

    /// The file's bytes, read by us rather than by BoringSSL: bounded, and refused unless it is a
    /// regular file (a named pipe would block the daemon at start, in `--check-config` and on reload).
    private static func pemFile(_ path: String) throws -> [UInt8] {
        do {
            return try BoundedFile.read(path: path, limit: 1 << 20)
        } catch .tooLarge {
            throw Failure(description: "larger than 1 MiB; not a PEM file")
        } catch .system(let reason) {
            throw Failure(description: reason)
        }
    }

    private static func certificates(_ path: String, key: String) throws(Failure) -> [NIOSSLCertificate] {
        do {
            let certificates = try NIOSSLCertificate.fromPEMBytes(try pemFile(path))
            guard !certificates.isEmpty else { throw Failure(description: "no certificate in the file") }
            return certificates
        } catch {
            throw Failure(description: "\(key) \(path): cannot load PEM certificates: \(error)")
        }
    }

    private static func privateKey(_ path: String, key: String) throws(Failure) -> NIOSSLPrivateKey {
        do {
            return try NIOSSLPrivateKey(bytes: try pemFile(path), format: .pem)
        } catch {
            throw Failure(description: "\(key) \(path): cannot load the PEM private key: \(error)")
        }
    }

    private static func context(_ configuration: TLSConfiguration) throws(Failure) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw Failure(description: "cannot set up TLS: \(error)")
        }
    }
}
