import Foundation
import Testing

/// Who the gateway lets in, and whom it lets go: a fleet behind one NAT, anonymous peers against the
/// fleet's quota, tokens revoked on reload, secrets files readable by others.
@Suite("Admission", .serialized)
struct AdmissionTests {
    @Test("a fleet behind one address is not locked out by max-connections-per-address once it said hello")
    func fleetBehindOneNAT() async throws {
        try await withGateway(
            extraConfiguration: "max-connections-per-address = 3\nhello-timeout = 30s\nagent-timeout = 30s\n"
        ) { gateway in
            var peers: [HostilePeer] = []
            defer { peers.forEach { $0.close() } }
            for index in 0..<8 {
                let peer = try HostilePeer(port: gateway.agentPort)
                peers.append(peer)
                try peer.send(line: HostileMessages.hello(agent: "\"nat-\(index)\""))
                let answer = peer.nextLine(timeout: 5)
                #expect(
                    answer?.contains("welcome") == true,
                    "agent \(index) behind the NAT got \(String(describing: answer))")
            }
            // Silent, unidentified connections from the same address are still bounded.
            let silent = try (0..<3).map { _ in try HostilePeer(port: gateway.agentPort) }
            defer { silent.forEach { $0.close() } }
            var refusal = ""
            let refused = await eventually {
                let extra = try HostilePeer(port: gateway.agentPort)
                defer { extra.close() }
                refusal = extra.nextLine(timeout: 3) ?? ""
                return refusal.contains("max-connections-per-address")
            }
            #expect(refused, "a fourth silent connection got: \(refusal)")
        }
    }

    @Test("report-format peers cannot fill max-agents: they have their own, smaller quota")
    func anonymousPeersCannotFillTheFleet() async throws {
        try await withGateway(extraConfiguration: "max-agents = 20\nagent-timeout = 30s\n") { gateway in
            var peers: [HostilePeer] = []
            defer { peers.forEach { $0.close() } }
            for _ in 0..<30 {
                let peer = try HostilePeer(port: gateway.agentPort)
                peers.append(peer)
                try? peer.send(line: HostileMessages.report())
            }
            // Whatever the quota let in has been counted once the metrics show it.
            try await Task.sleep(for: .milliseconds(500))
            let fleet = try (0..<5).map { index -> HostilePeer in
                let peer = try HostilePeer(port: gateway.agentPort)
                try peer.send(line: HostileMessages.hello(agent: "\"fleet-\(index)\""))
                return peer
            }
            defer { fleet.forEach { $0.close() } }
            for (index, peer) in fleet.enumerated() {
                let answer = peer.nextLine(timeout: 5)
                #expect(answer?.contains("welcome") == true, "fleet-\(index) got \(String(describing: answer))")
            }
            let page = try gateway.metrics()
            let anonymous = page.agents(exporting: "monitord_agent_up").filter { $0.hasPrefix("agent_") }
            // A quarter of max-agents at most, however many came.
            #expect(anonymous.count == 5, "\(anonymous.count) report-format agents held with max-agents = 20")
        }
    }

    @Test("a token removed from tokens-file disconnects its agent on reload; the file's mode is checked")
    func revokedTokenDisconnects() async throws {
        let directory = try makeTemporaryDirectory()
        let tokens = directory + "/tokens"
        let keep = "kept-token-0123456789abcdef"
        let revoke = "revoked-token-0123456789abcdef"
        try "keeper \(keep)\nvictim \(revoke)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o644)
        try await withGateway(extraConfiguration: "agent-timeout = 30s\ntokens-file = \(tokens)\n") { gateway in
            #expect(
                gateway.process.output.contains("tokens-file \(tokens) is accessible by its group or others"),
                "no warning about a world-readable tokens file:\n\(gateway.process.output)")
            #expect(
                gateway.process.output.contains("allow-legacy-agents = yes still lets report-format peers in"),
                "no warning about report-format peers next to tokens:\n\(gateway.process.output)")
            let keeper = try HostilePeer(port: gateway.agentPort)
            defer { keeper.close() }
            try keeper.send(line: HostileMessages.hello(agent: "\"keeper\"", extra: #","token":"\#(keep)""#))
            #expect(keeper.nextLine(timeout: 5)?.contains("welcome") == true)
            let victim = try HostilePeer(port: gateway.agentPort)
            defer { victim.close() }
            try victim.send(line: HostileMessages.hello(agent: "\"victim\"", extra: #","token":"\#(revoke)""#))
            #expect(victim.nextLine(timeout: 5)?.contains("welcome") == true)

            try "keeper \(keep)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            let closing = victim.nextLine(timeout: 10)
            #expect(closing?.contains("revoked") == true, "the revoked agent got \(String(describing: closing))")
            #expect(victim.waitForClose(timeout: 5) == .closed)
            try keeper.send(line: HostileMessages.sample(seq: "1"))
            #expect(keeper.nextLine(timeout: 5)?.contains(#""ack","seq":1"#) == true, "the kept agent was disturbed")
        }
    }
}
