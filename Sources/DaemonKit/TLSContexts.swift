public import MonitorConfig
import MonitorSystem
public import NIOSSL

/// Builds the TLS contexts of the daemons from their configuration, with errors that name the
/// file and the key that was wrong (a PEM that does not parse is the usual operator mistake).
/// The agent's client context is here; the gateway's server context and remote write's client
/// context extend this type in GatewayKit and MonitorRemoteWrite, so the agent links neither.
public enum TLSContexts {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The agent's client context, or nil when `tls = no`.
    public static func client(_ configuration: AgentConfiguration) throws(Failure) -> NIOSSLContext? {
        guard configuration.tls else { return nil }
        return try clientContext(caFile: configuration.tlsCAFile, identity: configuration.tlsIdentity)
    }

    /// A client context (the agent's and remote write's): TLS 1.2 or later, verifying the server
    /// against `caFile` (or the system's store), presenting `identity` when both its files are set.
    package static func clientContext(caFile: String?, identity: TLSIdentityFiles) throws(Failure) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        // A close waits this long for the peer's close_notify, reading (and decrypting) whatever the
        // peer sends meanwhile: NIOSSL's 5 s let a hostile gateway keep the agent at up to 63 % of a
        // core after it had decided to leave (audit 23, F1). An honest peer answers in one round trip.
        tls.shutdownTimeout = .milliseconds(250)
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

    package static func certificates(_ path: String, key: String) throws(Failure) -> [NIOSSLCertificate] {
        do {
            let certificates = try NIOSSLCertificate.fromPEMBytes(try pemFile(path))
            guard !certificates.isEmpty else { throw Failure(description: "no certificate in the file") }
            return certificates
        } catch {
            throw Failure(description: "\(key) \(path): cannot load PEM certificates: \(error)")
        }
    }

    package static func privateKey(_ path: String, key: String) throws(Failure) -> NIOSSLPrivateKey {
        do {
            return try NIOSSLPrivateKey(bytes: try pemFile(path), format: .pem)
        } catch {
            throw Failure(description: "\(key) \(path): cannot load the PEM private key: \(error)")
        }
    }

    package static func context(_ configuration: TLSConfiguration) throws(Failure) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw Failure(description: "cannot set up TLS: \(error)")
        }
    }
}
