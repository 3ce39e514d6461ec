import Foundation
import TestSupport

/// A throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate.
struct Certificates {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    var clientCertificate: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }

    static func make() throws -> Certificates {
        let dir = try makeTemporaryDirectory()
        let script = """
            set -e
            cd '\(dir)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
                -days 2 -subj '/CN=monitord test CA' 2>/dev/null
            for who in server client; do
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr \
                    -subj "/CN=$who" 2>/dev/null
            done
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            for who in server client; do
                openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                    -extfile $who.ext -out $who.pem 2>/dev/null
            done
            """
        let process = try RunningProcess(executable: "/bin/bash", arguments: ["-c", script], name: "openssl")
        process.process.waitUntilExit()
        guard process.process.terminationStatus == 0 else { throw E2EError("openssl failed: \(process.output)") }
        return Certificates(directory: dir)
    }

    /// An agent's lines for TLS to a gateway holding `serverCertificate`: this CA, the name localhost,
    /// and, when asked, the token and the client certificate.
    func agentConfiguration(token: String? = nil, presentingClientCertificate: Bool = false) -> String {
        var lines = ["tls = yes", "tls-ca-file = \(ca)", "tls-server-name = localhost"]
        if presentingClientCertificate {
            lines += ["tls-certificate = \(clientCertificate)", "tls-key = \(clientKey)"]
        }
        if let token { lines.append("token = \(token)") }
        return lines.joined(separator: "\n")
    }

    /// The gateway's lines serving this server certificate on the agent port.
    var gatewayConfiguration: String {
        "tls-certificate = \(serverCertificate)\ntls-key = \(serverKey)"
    }
}
