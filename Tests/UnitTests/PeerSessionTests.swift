import MonitorSystem
import Synchronization
import Testing

@testable import GatewayConfig
@testable import GatewayKit
@testable import GatewayStore
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorProtocol

@Suite("Gateway peer session")
struct PeerSessionTests {
    let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))

    func session(allowReportFormat: Bool = true, maximumAgents: Int = .max) -> PeerSession {
        PeerSession(
            store: store, remoteAddress: "127.0.0.1:4000", allowReportFormatAgents: allowReportFormat,
            maximumAgents: maximumAgents)
    }

    func hello(_ agent: String = "web-01", session: String = "0123456789abcdef") -> [UInt8] {
        ProtocolCodec.encode(
            AgentMessage.hello(Hello(protocolVersion: 1, agent: agent, agentVersion: "1.0.0", session: session)))
    }

    let report = Array(
        #"{"currentProccessRAM: ": 0.5, "RAM usage: ": 58.4, "CPU usage: ": 2.8, "CPU interrupts: ": 706148}"#.utf8)

    @Test("hello is welcomed; samples are acked cumulatively, once per batch")
    func nativeDialogue() {
        var peer = session()
        #expect(peer.receive(hello(), now: 100) == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
        #expect(peer.agentName == "web-01")
        for sequence in 1...3 { #expect(peer.receive(sampleLine(UInt64(sequence)), now: 101) == .none) }
        #expect(peer.takePendingAck() == .ack(sequence: 3))
        #expect(peer.takePendingAck() == nil)
        #expect(peer.takeSampleCount() == 3)
        #expect(store.snapshot(now: 102).first?.samplesReceived == 3)
    }

    @Test("acks never go backwards: samples below the highest ack, in later read cycles, earn no ack")
    func acksNeverGoBackwards() {
        var peer = session()
        _ = peer.receive(hello(), now: 100)
        _ = peer.receive(sampleLine(5), now: 101)
        #expect(peer.takePendingAck() == .ack(sequence: 5))
        _ = peer.receive(sampleLine(3), now: 101)
        #expect(peer.takePendingAck() == nil, "an ack of 3 after 5 would take back what 5 promised")
        _ = peer.receive(sampleLine(4), now: 101)
        #expect(peer.takePendingAck() == nil)
        _ = peer.receive(sampleLine(6), now: 102)
        #expect(peer.takePendingAck() == .ack(sequence: 6))
        #expect(peer.takeAck(upTo: 4) == nil, "the ack before a refused read follows the same rule")
        #expect(peer.takeAck(upTo: 7) == .ack(sequence: 7))
    }

    @Test("a reconnect with the same session learns the last sequence held; duplicates are acked, not counted")
    func reconnect() {
        var first = session()
        _ = first.receive(hello(), now: 100)
        _ = first.receive(sampleLine(1), now: 100)
        _ = first.receive(sampleLine(2), now: 100)
        first.disconnect(now: 101)
        var second = session()
        #expect(second.receive(hello(), now: 102) == .reply(.welcome(protocolVersion: 1, lastSequence: 2)))
        _ = second.receive(sampleLine(2), now: 102)
        #expect(second.takePendingAck() == .ack(sequence: 2))
        #expect(store.snapshot(now: 103).first?.samplesReceived == 2)
    }

    @Test("the report's format gets agent_<n> in order of connection")
    func reportFormatNumbering() {
        var first = session()
        var second = session()
        #expect(first.receive(report, now: 1) == .none)
        #expect(second.receive(report, now: 1) == .none)
        #expect(first.agentName == "agent_1")
        #expect(second.agentName == "agent_2")
        #expect(first.receive(report, now: 2) == .none)
        #expect(first.takePendingAck() == nil, "the report's agents are never acked: they do not read")
        #expect(first.takeSampleCount() == 2)
    }

    @Test(
        "dialogue errors are refused with a specific reason",
        arguments: [
            ("sample before hello", 0), ("second hello", 1), ("report object after hello", 2),
            ("hello after report", 3),
            ("garbage", 4),
        ])
    func refusals(name: String, scenario: Int) {
        var peer = session()
        let action: PeerSession.Action
        switch scenario {
        case 0: action = peer.receive(sampleLine(1), now: 1)
        case 1:
            _ = peer.receive(hello(), now: 1)
            action = peer.receive(hello(), now: 1)
        case 2:
            _ = peer.receive(hello(), now: 1)
            action = peer.receive(report, now: 1)
        case 3:
            _ = peer.receive(report, now: 1)
            action = peer.receive(hello(), now: 1)
        default: action = peer.receive(Array(#"{"type": 12}"#.utf8), now: 1)
        }
        guard case .refuse(.invalidMessage, let reason) = action else {
            Issue.record("\(name): expected a refusal, got \(action)")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test("report-format peers are refused when allow-legacy-agents = no")
    func reportFormatDisabled() {
        var peer = session(allowReportFormat: false)
        guard case .refuse(.reportFormatRefused, _) = peer.receive(report, now: 1) else {
            Issue.record("not refused")
            return
        }
        #expect(store.agentCount == 0)
    }

    @Test("max-agents refuses new names but always lets known agents back in")
    func maximumAgents() {
        var first = session(maximumAgents: 1)
        _ = first.receive(hello("a"), now: 1)
        var second = session(maximumAgents: 1)
        guard case .refuse(.tooManyAgents, _) = second.receive(hello("b"), now: 1) else {
            Issue.record("a second agent was admitted beyond max-agents")
            return
        }
        var reportFormat = session(maximumAgents: 1)
        guard case .refuse(.tooManyAgents, _) = reportFormat.receive(report, now: 1) else {
            Issue.record("a report-format agent was admitted beyond max-agents")
            return
        }
        first.disconnect(now: 2)
        var again = session(maximumAgents: 1)
        #expect(again.receive(hello("a"), now: 3) == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
    }

    @Test(
        "at max-agents a newcomer takes the place of the agent disconnected longest ago; only a table of connected agents refuses (audit 21, F2)"
    )
    func maximumAgentsForgetsTheLongestGone() {
        func connect(_ name: String, at now: Double) -> (PeerSession, PeerSession.Action) {
            var peer = session(maximumAgents: 3)
            let answer = peer.receive(hello(name), now: now)
            if case .reply = answer { _ = peer.receive(sampleLine(1), now: now) }
            return (peer, answer)
        }
        var (a, _) = connect("a", at: 1)
        var (b, _) = connect("b", at: 1)
        let (c, _) = connect("c", at: 1)
        b.disconnect(now: 2)
        a.disconnect(now: 3)
        let (d, welcomeD) = connect("d", at: 4)
        #expect(welcomeD == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
        #expect(d.connection?.forgotten == "b", "the agent gone longest makes room")
        let (e, welcomeE) = connect("e", at: 5)
        #expect(welcomeE == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
        #expect(e.connection?.forgotten == "a")
        #expect(store.snapshot(now: 5).map(\.name) == ["c", "d", "e"])
        // Every agent connected: a newcomer is refused, and nobody is forgotten for it.
        var f = session(maximumAgents: 3)
        guard case .refuse(.tooManyAgents, _) = f.receive(hello("f"), now: 6) else {
            Issue.record("a newcomer pushed out a connected agent")
            return
        }
        #expect(store.agentCount == 3)
        _ = c
    }

    @Test("a peer inventing a name per connection, a hundred thousand times, never locks out a new host")
    func nameFloodNeverLocksOut() {
        for index in 0..<100_000 {
            var junk = session(maximumAgents: 1000)
            guard case .reply = junk.receive(hello("junk-\(index)"), now: Double(index) / 1000) else {
                Issue.record("junk \(index) refused: the table filled")
                return
            }
            _ = junk.receive(sampleLine(1), now: Double(index) / 1000)
            junk.disconnect(now: Double(index) / 1000)
        }
        #expect(store.agentCount == 1000)
        var host = session(maximumAgents: 1000)
        #expect(host.receive(hello("new-host"), now: 200) == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
    }

    @Test("a reconnect before the first sample is welcomed without last_seq (the gateway holds none)")
    func reconnectBeforeFirstSample() {
        var first = session()
        #expect(first.receive(hello(), now: 100) == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
        first.disconnect(now: 101)
        var second = session()
        let welcome = second.receive(hello(), now: 102)
        #expect(welcome == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
        if case .reply(let message) = welcome {
            let line = String(decoding: ProtocolCodec.encode(message), as: UTF8.self)
            #expect(!line.contains("last_seq"), "\(line)")
        }
        _ = second.receive(sampleLine(1), now: 103)
        second.disconnect(now: 104)
        var third = session()
        #expect(third.receive(hello(), now: 105) == .reply(.welcome(protocolVersion: 1, lastSequence: 1)))
    }
}

@Suite("Gateway limits")
struct GatewayLimitTests {
    @Test("connections are limited per address before their hello, and released")
    func connectionLimiter() throws {
        let limiter = ConnectionLimiter()
        func admit(_ address: String) -> ConnectionLimiter.Admission {
            limiter.admit(address, maximumTotal: 3, maximumPerAddress: 2, replace: {})
        }
        guard case .admitted(let first) = admit("10.0.0.1"), case .admitted(let second) = admit("10.0.0.1") else {
            Issue.record("the first two connections of an address are admitted")
            return
        }
        #expect(admit("10.0.0.1") == .refused(.tooManyFromAddress))
        // Identified, a connection no longer counts against its address.
        #expect(limiter.identified(first))
        guard case .admitted(let third) = admit("10.0.0.1") else {
            Issue.record("an identified connection frees its place of the address")
            return
        }
        limiter.release(first, identified: true)
        limiter.release(second, identified: false)
        limiter.release(third, identified: false)
        #expect(limiter.openConnections == 0)
    }

    /// Audit 7, 02: sockets that never say hello filled max-connections and kept every new agent out.
    @Test("at max-connections a newcomer replaces the oldest connection without a hello; identified ones stay")
    func connectionLimiterReplacesTheOldestUnidentified() {
        let limiter = ConnectionLimiter()
        let replaced = Mutex<[Int]>([])
        func admit(_ index: Int, _ address: String) -> ConnectionLimiter.Admission {
            limiter.admit(address, maximumTotal: 3, maximumPerAddress: 3) { replaced.withLock { $0.append(index) } }
        }
        var tickets: [ConnectionLimiter.Ticket] = []
        for index in 0..<3 {
            guard case .admitted(let ticket) = admit(index, "10.0.0.\(index)") else {
                Issue.record("room for three")
                return
            }
            tickets.append(ticket)
        }
        #expect(limiter.identified(tickets[0]))
        // Full: the oldest without a hello (1, not the identified 0) makes room, then 2.
        guard case .replacing(let fourth) = admit(3, "10.0.0.9") else {
            Issue.record("a newcomer replaces a connection without hello")
            return
        }
        #expect(replaced.withLock { $0 } == [1])
        #expect(limiter.identified(tickets[1]) == false, "a replaced connection cannot identify itself any more")
        limiter.release(tickets[1], identified: false)  // Counted off when replaced: no second release.
        #expect(limiter.openConnections == 3)
        guard case .replacing = admit(4, "10.0.0.9") else {
            Issue.record("the next newcomer replaces the next oldest")
            return
        }
        #expect(replaced.withLock { $0 } == [1, 2])
        #expect(limiter.identified(fourth), "the newer connection stays while an older one is left")
        // Every connection identified: a newcomer is refused, never an agent closed.
        let all = Mutex<[ConnectionLimiter.Ticket]>([])
        let limiter2 = ConnectionLimiter()
        for index in 0..<3 {
            if case .admitted(let ticket) = limiter2.admit(
                "10.0.1.\(index)", maximumTotal: 3, maximumPerAddress: 3, replace: {})
            {
                #expect(limiter2.identified(ticket))
                all.withLock { $0.append(ticket) }
            }
        }
        #expect(
            limiter2.admit("10.0.1.9", maximumTotal: 3, maximumPerAddress: 3, replace: {})
                == .refused(.tooManyConnections))
        for ticket in all.withLock({ $0 }) { limiter2.release(ticket, identified: true) }
        #expect(limiter2.openConnections == 0)
    }

    @Test("the token bucket lets a burst through, then asks to wait in proportion")
    func tokenBucket() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(rate: 100, burst: 100, now: start)
        #expect(bucket.take(100, now: start) == .zero)
        // 50 more with none left: half a second of debt.
        let wait = bucket.take(50, now: start)
        #expect(abs(wait.inSeconds - 0.5) < 0.001, "\(wait)")
        // After a second, the debt is repaid and 50 tokens are back.
        #expect(bucket.take(50, now: start + .seconds(1)) == .zero)
        // Never more than the burst, however long it was idle.
        #expect(bucket.take(101, now: start + .seconds(3600)) > .zero)
    }

    @Test("refusal logs are throttled per reason and report what they held back")
    func logThrottle() {
        let throttle = LogThrottle<PeerErrorReason>(limit: 2, window: .seconds(10))
        let start = ContinuousClock.now
        #expect(throttle.check(.framing, now: start) == .log(suppressedBefore: 0))
        #expect(throttle.check(.framing, now: start) == .log(suppressedBefore: 0))
        #expect(throttle.check(.framing, now: start) == .suppress)
        #expect(throttle.check(.framing, now: start) == .suppress)
        #expect(throttle.check(.helloTimeout, now: start) == .log(suppressedBefore: 0), "reasons are independent")
        #expect(throttle.check(.framing, now: start + .seconds(11)) == .log(suppressedBefore: 2))
    }
}

@Suite("Agent tokens")
struct AgentTokenTests {
    @Test("tokens verify only for their own agent, and parse errors name the line")
    func tokens() throws {
        let tokens = try AgentTokens.parse(
            "# comment\n\nweb-01 0123456789abcdef0123\nweb-02\t fedcba9876543210fedc\n", file: "t")
        #expect(tokens.count == 2)
        #expect(tokens.verify(agent: "web-01", token: "0123456789abcdef0123"))
        #expect(!tokens.verify(agent: "web-01", token: "0123456789abcdef0124"))
        #expect(!tokens.verify(agent: "web-01", token: "0123456789abcdef012"))
        #expect(!tokens.verify(agent: "web-01", token: nil))
        #expect(!tokens.verify(agent: "web-02", token: "0123456789abcdef0123"), "another agent's token")
        #expect(!tokens.verify(agent: "web-03", token: "0123456789abcdef0123"), "an unknown agent")

        let cases: [(String, String)] = [
            ("web-01 a b\n", "t:1: expected \"name token\" (two fields separated by white space), found 3"),
            (
                "\nweb-01 short\n",
                "t:2: the token for web-01 must be 16 to 256 bytes long (found 5): short tokens can be guessed"
            ),
            ("agent_1 0123456789abcdef0123\n", "t:1: agent name:"),
            ("a 0123456789abcdef0123\na 0123456789abcdef0123\n", "t:2: a second token for a"),
        ]
        for (text, expected) in cases {
            #expect(throws: ConfigurationError.self) { try AgentTokens.parse(text, file: "t") }
            do {
                _ = try AgentTokens.parse(text, file: "t")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(error.description)")
            }
        }
    }

    @Test("with tokens, a hello without the right token is refused as unauthenticated")
    func sessionRequiresToken() throws {
        let tokens = try AgentTokens.parse("web-01 0123456789abcdef0123\n", file: "t")
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(60))
        func hello(_ token: String?) -> [UInt8] {
            ProtocolCodec.encode(
                AgentMessage.hello(
                    Hello(agent: "web-01", agentVersion: "1", session: "0123456789abcdef", token: token)))
        }
        var wrong = PeerSession(store: store, remoteAddress: "x", allowReportFormatAgents: true, tokens: tokens)
        guard case .refuse(.unauthenticated, _) = wrong.receive(hello("nope-nope-nope-nope"), now: 1) else {
            Issue.record("a wrong token was accepted")
            return
        }
        var right = PeerSession(store: store, remoteAddress: "x", allowReportFormatAgents: true, tokens: tokens)
        #expect(
            right.receive(hello("0123456789abcdef0123"), now: 1)
                == .reply(.welcome(protocolVersion: 1, lastSequence: nil)))
        var plain = PeerSession(
            store: store, remoteAddress: "x", allowReportFormatAgents: true, requireTLS: true, isTLS: false)
        guard case .refuse(.tlsRequired, _) = plain.receive(hello(nil), now: 1) else {
            Issue.record("a plain native hello was accepted where TLS is required")
            return
        }
    }
}
