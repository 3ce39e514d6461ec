import Foundation
import TestSupport
import Testing

/// TLS, mutual TLS and agent tokens on the agent port, with certificates made by openssl here.
@Suite("TLS and tokens")
struct SecurityTests {
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
    }

    static let token = "s3cret-token-for-web-01-0123456789"

    func tokensFile() throws -> String {
        let path = try makeTemporaryDirectory() + "/tokens"
        try "# name token\ne2e-tls \(Self.token)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a TLS agent with its token is accepted; plain, tokenless and wrong-token agents are refused")
    func tlsAndTokens() async throws {
        let certificates = try Certificates.make()
        let gatewayConfiguration = """
            agent-timeout = 5s
            tls-certificate = \(certificates.serverCertificate)
            tls-key = \(certificates.serverKey)
            tokens-file = \(try tokensFile())
            """
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            let good = try AgentProcess.start(
                name: "e2e-tls", gatewayPort: gateway.agentPort,
                extraConfiguration: """
                    tls = yes
                    tls-ca-file = \(certificates.ca)
                    tls-server-name = localhost
                    token = \(Self.token)
                    """)
            defer { good.process.signal(SIGKILL) }
            let plain = try AgentProcess.start(
                name: "e2e-plain", gatewayPort: gateway.agentPort, extraConfiguration: "token = \(Self.token)")
            defer { plain.process.signal(SIGKILL) }
            let wrong = try AgentProcess.start(
                name: "e2e-tls", gatewayPort: gateway.agentPort,
                extraConfiguration: """
                    tls = yes
                    tls-ca-file = \(certificates.ca)
                    tls-server-name = localhost
                    token = not-the-token-at-all-000000
                    """)
            defer { wrong.process.signal(SIGKILL) }
            // The report's agent speaks plain TCP and has no token: still welcome (allow-legacy-agents).
            let report = try startReportAgent(port: gateway.agentPort)
            defer { report.signal(SIGKILL) }

            let settled = await eventually(timeout: 20) {
                let page = try gateway.metrics()
                func errors(_ reason: String) -> Double {
                    page.series.first { $0.name == "monitord_peer_errors_total" && $0.labels["reason"] == reason }?
                        .value ?? 0
                }
                return page.value("process_ram_usage_percent", agent: "e2e-tls") != nil
                    && page.value("process_ram_usage_percent", agent: "agent_1") != nil
                    && errors("tls_required") >= 1 && errors("unauthenticated") >= 1
            }
            #expect(settled, "gateway: \(gateway.process.output)")
            let page = try gateway.metrics()
            #expect(page.value("monitord_agent_up", agent: "e2e-plain") == nil, "a plain native agent got in")
            #expect(plain.process.output.contains("requires TLS"), "\(plain.process.output)")
            #expect(wrong.process.output.contains("wrong token"), "\(wrong.process.output)")
            #expect(gateway.process.output.contains("missing or wrong token"))
            // The status API says which transport each agent came over.
            let agents = try HTTPClient.get(port: gateway.metricsPort, path: "/api/v1/agents").body
            let json = try #require(try JSONSerialization.jsonObject(with: Data(agents.utf8)) as? [String: Any])
            let list = try #require(json["agents"] as? [[String: Any]])
            let transports = Dictionary(
                uniqueKeysWithValues: list.compactMap { agent in
                    (agent["name"] as? String).map { ($0, agent["transport"] as? String ?? "?") }
                })
            #expect(transports["e2e-tls"] == "tls" && transports["agent_1"] == "tcp", "\(transports)")
        }
    }

    @Test("mutual TLS: an agent without a client certificate fails the handshake, one with it gets in")
    func mutualTLS() async throws {
        let certificates = try Certificates.make()
        let gatewayConfiguration = """
            tls-certificate = \(certificates.serverCertificate)
            tls-key = \(certificates.serverKey)
            tls-client-ca-file = \(certificates.ca)
            """
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            let anonymous = try AgentProcess.start(
                name: "e2e-anonymous", gatewayPort: gateway.agentPort,
                extraConfiguration: "tls = yes\ntls-ca-file = \(certificates.ca)\ntls-server-name = localhost")
            defer { anonymous.process.signal(SIGKILL) }
            let authenticated = try AgentProcess.start(
                name: "e2e-mtls", gatewayPort: gateway.agentPort,
                extraConfiguration: """
                    tls = yes
                    tls-ca-file = \(certificates.ca)
                    tls-server-name = localhost
                    tls-certificate = \(certificates.clientCertificate)
                    tls-key = \(certificates.clientKey)
                    """)
            defer { authenticated.process.signal(SIGKILL) }
            let settled = await eventually(timeout: 20) {
                let page = try gateway.metrics()
                let handshakeErrors =
                    page.series.first {
                        $0.name == "monitord_peer_errors_total" && $0.labels["reason"] == "tls_handshake"
                    }?
                    .value ?? 0
                return page.value("process_ram_usage_percent", agent: "e2e-mtls") != nil && handshakeErrors >= 1
            }
            #expect(settled, "gateway: \(gateway.process.output)\nanonymous: \(anonymous.process.output)")
            #expect(try gateway.metrics().value("monitord_agent_up", agent: "e2e-anonymous") == nil)
        }
    }

    @Test("an agent refuses a gateway whose certificate it cannot verify")
    func untrustedServer() async throws {
        let certificates = try Certificates.make()
        let other = try Certificates.make()
        let gatewayConfiguration =
            "tls-certificate = \(certificates.serverCertificate)\ntls-key = \(certificates.serverKey)\n"
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            let agent = try AgentProcess.start(
                name: "e2e-doubtful", gatewayPort: gateway.agentPort,
                extraConfiguration: "tls = yes\ntls-ca-file = \(other.ca)\ntls-server-name = localhost")
            defer { agent.process.signal(SIGKILL) }
            #expect(
                await eventually { agent.process.output.contains("cannot reach any server that takes samples") },
                "\(agent.process.output)"
            )
            #expect(try gateway.metrics().value("monitord_agent_up", agent: "e2e-doubtful") == nil)
        }
    }

    @Test("a peer that begins a TLS handshake and stalls is closed at hello-timeout, as a silent plain peer is")
    func stalledHandshakeBoundByHelloTimeout() async throws {
        let certificates = try Certificates.make()
        let gatewayConfiguration = """
            tls-certificate = \(certificates.serverCertificate)
            tls-key = \(certificates.serverKey)
            hello-timeout = 1s
            agent-timeout = 10s
            """
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            // The first bytes of a ClientHello record (type 22, TLS 1.0, 512 bytes announced), then nothing.
            let stalled = try HostilePeer(port: gateway.agentPort)
            defer { stalled.close() }
            let plain = try HostilePeer(port: gateway.agentPort)
            defer { plain.close() }
            let start = Date()
            try stalled.send([0x16, 0x03, 0x01, 0x02, 0x00])
            #expect(plain.waitForClose(timeout: 8) == .closed)
            // Well before 2 x agent-timeout (20 s), where the idle timer would close it.
            #expect(stalled.waitForClose(timeout: 8) == .closed, "gateway: \(gateway.process.output)")
            let elapsed = Date().timeIntervalSince(start)
            #expect(elapsed < 5, "the stalled handshake was closed after \(elapsed) s")
        }
    }
}
