import Foundation
import TestSupport
import Testing

/// TLS, mutual TLS and agent tokens on the agent port, with throwaway certificates (Support/Certificates.swift).
@Suite("TLS and tokens")
struct SecurityTests {
    static let token = "s3cret-token-for-web-01-0123456789"

    func tokensFile() throws -> String {
        let path = try makeTemporaryDirectory() + "/tokens"
        try "# name token\ne2e-tls \(Self.token)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a TLS agent with its token is accepted; plain, tokenless and wrong-token agents are refused")
    func tlsAndTokens() async throws {
        let certificates = try Certificates.make()
        let gatewayConfiguration =
            "agent-timeout = 5s\n\(certificates.gatewayConfiguration)\ntokens-file = \(try tokensFile())"
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            let good = try AgentProcess.start(
                name: "e2e-tls", gatewayPort: gateway.agentPort,
                extraConfiguration: certificates.agentConfiguration(token: Self.token))
            defer { good.process.signal(SIGKILL) }
            let plain = try AgentProcess.start(
                name: "e2e-plain", gatewayPort: gateway.agentPort, extraConfiguration: "token = \(Self.token)")
            defer { plain.process.signal(SIGKILL) }
            let wrong = try AgentProcess.start(
                name: "e2e-tls", gatewayPort: gateway.agentPort,
                extraConfiguration: certificates.agentConfiguration(token: "not-the-token-at-all-000000"))
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
        let gatewayConfiguration = "\(certificates.gatewayConfiguration)\ntls-client-ca-file = \(certificates.ca)"
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            let anonymous = try AgentProcess.start(
                name: "e2e-anonymous", gatewayPort: gateway.agentPort,
                extraConfiguration: certificates.agentConfiguration())
            defer { anonymous.process.signal(SIGKILL) }
            let authenticated = try AgentProcess.start(
                name: "e2e-mtls", gatewayPort: gateway.agentPort,
                extraConfiguration: certificates.agentConfiguration(presentingClientCertificate: true))
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
        let gatewayConfiguration = certificates.gatewayConfiguration
        try await withGateway(extraConfiguration: gatewayConfiguration) { gateway in
            let agent = try AgentProcess.start(
                name: "e2e-doubtful", gatewayPort: gateway.agentPort,
                extraConfiguration: other.agentConfiguration())
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
            \(certificates.gatewayConfiguration)
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
