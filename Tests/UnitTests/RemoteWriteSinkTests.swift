import Synchronization
import Testing

@testable import GatewayKit
@testable import GatewayStore
@testable import MonitorModel
@testable import MonitorProtocol
@testable import MonitorRemoteWrite

/// The gateway's hook: a connection hands remote write every sample the store accepted, and only those.
@Suite struct RemoteWriteSinkTests {
    final class Collected: Sendable {
        let items = Mutex<[(sequence: UInt64, agent: String, now: Double)]>([])
        var sequences: [UInt64] { items.withLock { $0.map(\.sequence) } }
        var sink: @Sendable (Sample, String, Double) -> Void {
            { sample, agent, now in self.items.withLock { $0.append((sample.sequence, agent, now)) } }
        }
    }

    @Test func nativeSamplesReachTheSinkOnceEvenWhenReplayed() {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(60))
        let collected = Collected()
        var session = PeerSession(
            store: store, remoteAddress: "127.0.0.1:1", allowReportFormatAgents: true, onNewSample: collected.sink)
        let hello = ProtocolCodec.encode(
            AgentMessage.hello(Hello(agent: "web-1", agentVersion: "0.1.0", session: "0123456789abcdef")))
        _ = session.receive(hello, now: 10)
        for sequence: UInt64 in [1, 2, 2, 3, 1] { _ = session.receive(sampleLine(sequence), now: 11) }
        #expect(collected.sequences == [1, 2, 3], "duplicates are not forwarded twice")
        #expect(collected.items.withLock { $0.allSatisfy { $0.agent == "web-1" && $0.now == 11 } })
    }

    @Test func reportFormatSamplesReachTheSinkUnderTheirAgentNumberName() {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(60))
        let collected = Collected()
        var session = PeerSession(
            store: store, remoteAddress: "127.0.0.1:2", allowReportFormatAgents: true, onNewSample: collected.sink)
        let object = Array(
            #"{"currentProccessRAM: ": 0.009, "RAM usage: ": 58.4, "CPU usage: ": 2.8, "CPU interrupts: ": 706148}"#
                .utf8)
        _ = session.receive(object, now: 20)
        _ = session.receive(object, now: 25)
        let agents = collected.items.withLock { $0.map(\.agent) }
        #expect(agents == ["agent_1", "agent_1"])
        #expect(collected.items.withLock { $0.map(\.now) } == [20, 25], "arrival times, for the writer to stamp")
    }
}
