import Foundation
import TestSupport
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

    /// Audit 7, 02: silent sockets from a few addresses, each under max-connections-per-address,
    /// filled max-connections, and every new or reconnecting agent was refused for as long as they
    /// were kept open. Now the newcomer takes the place of the oldest connection without a hello.
    @Test("silent connections filling max-connections cannot keep an agent out: the oldest of them makes room")
    func silentConnectionsMakeRoomForAnAgent() async throws {
        try await withGateway(
            extraConfiguration: "max-connections = 40\nmax-connections-per-address = 10\nhello-timeout = 30s\n"
        ) { gateway in
            var silent: [Int32] = []
            defer { silent.forEach { close($0) } }
            for host in 1...4 {
                silent += try ConnectionFloodTests.openSilentConnections(
                    count: 10, from: "127.0.1.\(host)", to: gateway.agentPort)
            }
            #expect(
                await eventually {
                    try gateway.metrics().value("monitord_connections_accepted_total") ?? 0 >= 40
                })
            let agent = try HostilePeer(port: gateway.agentPort)
            defer { agent.close() }
            try agent.send(line: HostileMessages.hello(agent: "\"newcomer\""))
            let answer = agent.nextLine(timeout: 10)
            #expect(answer?.contains("welcome") == true, "the agent got \(String(describing: answer))")
            try agent.send(line: HostileMessages.sample(seq: "1"))
            #expect(agent.nextLine(timeout: 10)?.contains("\"ack\"") == true)
            // One silent connection, the oldest, was closed with an error line saying why.
            let errors = try gateway.metrics().series.filter {
                $0.name == "monitord_peer_errors_total" && $0.labels["reason"] == "replaced"
            }
            #expect(errors.first?.value == 1)
            // Which one is the oldest depends on the order the event loops admitted them.
            let told = silent.filter { descriptor in
                var buffer = [UInt8](repeating: 0, count: 512)
                let got = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                return got > 0 && String(decoding: buffer.prefix(got), as: UTF8.self).contains("made room")
            }
            #expect(told.count == 1, "one silent connection is told why it is closed")
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
                try? peer.send(line: HostileMessages.reportFormat())
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

    @Test("a flood of hellos that never deliver cannot lock out new agents once its connections are closed")
    func helloFloodDoesNotLockOutNewAgents() async throws {
        try await withGateway(
            extraConfiguration: "max-agents = 400\nmax-anonymous-agents = 10\nagent-timeout = 30s\n"
        ) { gateway in
            func hello(_ name: String) throws -> (HostilePeer, String?) {
                let peer = try HostilePeer(port: gateway.agentPort)
                try peer.send(line: HostileMessages.hello(agent: "\"\(name)\""))
                return (peer, peer.nextLine(timeout: 5))
            }
            // Held open, hellos without a sample fill the quota: the newcomer is refused...
            var held: [HostilePeer] = []
            for index in 0..<10 {
                let (peer, answer) = try hello("junk-\(index)")
                held.append(peer)
                #expect(answer?.contains("welcome") == true, "junk-\(index) got \(String(describing: answer))")
            }
            let (early, refusal) = try hello("web-00")
            early.close()
            #expect(refusal?.contains("max-anonymous-agents") == true, "\(String(describing: refusal))")
            // ...until they close: a record that never delivered is forgotten with its connection.
            held.forEach { $0.close() }
            held = []
            let readmitted = await eventually(timeout: 5) {
                let (peer, answer) = try hello("web-01")
                peer.close()
                return answer?.contains("welcome") == true
            }
            #expect(readmitted, "a new agent is still refused after the flood closed")
            // Closed and re-flooded many times over: the fleet's new members still get in.
            for round in 0..<5 {
                for index in 0..<10 {
                    let (peer, _) = try hello("junk-\(round)-\(index)")
                    peer.close()
                }
            }
            let admitted = await eventually(timeout: 5) {
                let (peer, answer) = try hello("web-02")
                defer { peer.close() }
                guard answer?.contains("welcome") == true else { return false }
                try peer.send(line: HostileMessages.sample(seq: "1"))
                return peer.nextLine(timeout: 5)?.contains("ack") == true
            }
            #expect(admitted, "web-02 refused after closed floods")
            let page = try gateway.metrics()
            #expect(page.agents(exporting: "monitord_agent_up").filter { $0.hasPrefix("junk") }.isEmpty)
            #expect(page.value("monitord_agent_up", agent: "web-02") != nil)
        }
    }

    @Test(
        "a peer inventing a name per connection (hello, one sample, close) cannot fill max-agents and lock new hosts out for forget-after (audit 21, F2)"
    )
    func nameFloodDoesNotLockOutNewHosts() async throws {
        try await withGateway(extraConfiguration: "max-agents = 50\nagent-timeout = 30s\nforget-after = 1h\n") {
            gateway in
            func connect(_ name: String, deliver: Bool) throws -> (HostilePeer, String?) {
                let peer = try HostilePeer(port: gateway.agentPort)
                try peer.send(line: HostileMessages.hello(agent: "\"\(name)\"", session: "\"aaaa0000aaaa0000\""))
                let answer = peer.nextLine(timeout: 5)
                if deliver, answer?.contains("welcome") == true {
                    try peer.send(line: HostileMessages.sample(seq: "1"))
                    _ = peer.nextLine(timeout: 5)  // its ack: the sample is held
                }
                return (peer, answer)
            }
            // A fleet of 10 that stays connected.
            var fleet: [HostilePeer] = []
            defer { fleet.forEach { $0.close() } }
            for index in 0..<10 { fleet.append(try connect("fleet-\(index)", deliver: true).0) }
            for index in 0..<200 {
                let (peer, answer) = try connect("junk-\(index)", deliver: true)
                peer.close()
                #expect(answer?.contains("welcome") == true, "junk-\(index) got \(String(describing: answer))")
            }
            let (newcomer, answer) = try connect("new-host", deliver: true)
            defer { newcomer.close() }
            #expect(answer?.contains("welcome") == true, "a new host was locked out: \(String(describing: answer))")
            let page = try gateway.metrics()
            let held = page.agents(exporting: "monitord_agent_up")
            #expect(held.count <= 50, "\(held.count) agents held with max-agents = 50")
            for index in 0..<10 { #expect(held.contains("fleet-\(index)"), "a connected agent was forgotten") }
            #expect(held.contains("new-host"))
            #expect(gateway.process.output.contains("agent forgotten to make room at max-agents"))
        }
    }

    @Test("a token revoked by SIGHUP leaves no connection presenting it, whatever hellos race the reload")
    func revocationRacesConcurrentHellos() async throws {
        raiseOpenFileLimit(to: 16384)
        let directory = try makeTemporaryDirectory()
        let tokens = directory + "/tokens"
        func token(_ round: Int) -> String { "round-\(round)-token-0123456789abcdef" }
        try "racer \(token(0))\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        try await withGateway(
            extraConfiguration: "agent-timeout = 30s\ntokens-file = \(tokens)\nallow-legacy-agents = no\n"
        ) { gateway in
            var opened = 0
            var survivors: [String] = []
            for round in 0..<4 {
                let race = Race()
                let presented = token(round)
                let port = gateway.agentPort
                let racers = DispatchGroup()
                for racer in 0..<3 {
                    // Threads, not tasks: the sockets block, and the test's cooperative pool is small.
                    DispatchQueue.global().async(group: racers) {
                        var index = 0
                        while !race.stopped {
                            guard let peer = try? HostilePeer(port: port) else { continue }
                            let session = String(format: "%08x%08x", racer + round * 16, index)
                            try? peer.send(
                                line: HostileMessages.hello(
                                    agent: "\"racer\"", session: "\"\(session)\"", extra: #","token":"\#(presented)""#))
                            race.add(peer)
                            index += 1
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(400))
                try "racer \(token(round + 1))\n".write(toFile: tokens, atomically: true, encoding: .utf8)
                gateway.process.signal(SIGHUP)
                try await Task.sleep(for: .milliseconds(300))
                race.stop()
                await withCheckedContinuation { done in racers.notify(queue: .global()) { done.resume() } }
                try await Task.sleep(for: .milliseconds(1500))
                let all = race.peers
                opened += all.count
                for peer in all {
                    defer { peer.close() }
                    guard (try? peer.send(line: HostileMessages.sample(seq: "1"))) != nil else { continue }
                    guard peer.waitForClose(timeout: 0.3) == .hung else { continue }
                    if peer.everything.contains(where: { $0.contains("\"ack\"") }) {
                        survivors.append("round \(round): \(peer.everything)")
                    }
                }
            }
            print("FIGURE revocation race: \(opened) connections presenting a token revoked under them")
            #expect(opened > 1000, "too few racing connections to mean anything: \(opened)")
            #expect(survivors.isEmpty, "\(survivors.count) acknowledged after revocation: \(survivors.prefix(3))")
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

/// The connections racing a reload, opened from several threads.
private final class Race: @unchecked Sendable {
    private let lock = NSLock()
    private var isStopped = false
    private var opened: [HostilePeer] = []

    var stopped: Bool { lock.withLock { isStopped } }
    var peers: [HostilePeer] { lock.withLock { opened } }
    func stop() { lock.withLock { isStopped = true } }
    func add(_ peer: HostilePeer) { lock.withLock { opened.append(peer) } }
}
