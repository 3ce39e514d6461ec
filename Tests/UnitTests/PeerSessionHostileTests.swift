import Synchronization
import Testing

@testable import GatewayKit
@testable import GatewayStore
@testable import MonitorModel
@testable import MonitorProtocol

/// The gateway's side of the dialogue against peers that lie: name takeovers, clocks far ahead,
/// hellos racing for the last agent slot.
@Suite("Gateway peer session, hostile peers")
struct PeerSessionHostileTests {
    let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))

    func session(maximumAgents: Int = .max, forward: (@Sendable (Sample, String, Double) -> Void)? = nil)
        -> PeerSession
    {
        PeerSession(
            store: store, remoteAddress: "127.0.0.1:4000", allowReportFormatAgents: true, maximumAgents: maximumAgents,
            onNewSample: forward)
    }

    func hello(_ agent: String = "web-01", session: String = "0123456789abcdef") -> [UInt8] {
        ProtocolCodec.encode(
            AgentMessage.hello(Hello(protocolVersion: 1, agent: agent, agentVersion: "1.0.0", session: session)))
    }

    @Test("after a takeover the older connection's samples are neither kept, forwarded nor acked")
    func takeoverNeverAcksWhatIsNotKept() {
        let forwarded = Mutex<[UInt64]>([])
        let forward: @Sendable (Sample, String, Double) -> Void = { sample, _, _ in
            forwarded.withLock { $0.append(sample.sequence) }
        }
        var older = session(forward: forward)
        _ = older.receive(hello(session: "aaaaaaaaaaaaaaaa"), now: 100)
        _ = older.receive(sampleLine(1), now: 100)
        #expect(older.takePendingAck() == .ack(sequence: 1))

        var newer = session(forward: forward)
        #expect(newer.receive(hello(session: "bbbbbbbbbbbbbbbb"), now: 101) != .none)

        let late = older.receive(sampleLine(2), now: 102)
        guard case .refuse = late else {
            Issue.record("the superseded connection's sample was taken: \(late)")
            return
        }
        #expect(older.takePendingAck() == nil, "an ack for a sample the gateway did not keep")
        #expect(forwarded.withLock { $0 } == [1], "a superseded sample was forwarded")
        #expect(store.snapshot(now: 103).first?.samplesReceived == 1)
    }

    @Test("a sample stamped in the future is clamped at ingest: it cannot block the agent's later samples")
    func futureTimestampIsClamped() throws {
        let forwarded = Mutex<[Double]>([])
        var peer = session { sample, _, _ in forwarded.withLock { $0.append(sample.timestamp ?? -1) } }
        let now = 1_700_000_000.0
        _ = peer.receive(hello(), now: now)
        _ = peer.receive(sampleLine(1, at: now + 10 * 365 * 86400), now: now)
        _ = peer.receive(sampleLine(2, at: now + 1), now: now + 1)
        let stamps = forwarded.withLock { $0 }
        #expect(stamps.count == 2)
        #expect(stamps.allSatisfy { $0 <= now + 3600 }, "a timestamp years ahead went through: \(stamps)")
        #expect(stamps == stamps.sorted(), "the forwarded timestamps are not in order: \(stamps)")
    }

    @Test("hellos racing for the last slots never overshoot max-agents", arguments: [1, 7])
    func concurrentHellosRespectMaximum(maximum: Int) async {
        // The race needs a hello to be preempted between the check and the insertion: many rounds on fresh
        // stores, each with many contenders on every core, make that likely where the two are separate steps.
        for round in 0..<200 {
            let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
            let admitted = await withTaskGroup(of: Bool.self, returning: Int.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        var peer = PeerSession(
                            store: store, remoteAddress: "x", allowReportFormatAgents: true, maximumAgents: maximum)
                        if case .reply = peer.receive(hello("racer-\(index)"), now: 1) { return true }
                        return false
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            guard admitted == maximum, store.agentCount == maximum else {
                Issue.record("round \(round): \(admitted) admitted, \(store.agentCount) held, max-agents \(maximum)")
                return
            }
        }
    }
}
