import Testing

@testable import GatewayStore

@Suite struct StoreConcurrencyTests {
    @Test func concurrentConnectionsRecordWithoutLosingSamples() async {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        let agents = 16
        let samplesPerAgent: UInt64 = 500
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<agents {
                group.addTask {
                    let name = "host-\(index)"
                    _ = store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 0)
                    for sequence in 1...samplesPerAgent {
                        // Every sample sent twice, as after a lost ack: the second must not count.
                        _ = store.record(makeSample(sequence), agent: name, session: "s", now: 1)
                        _ = store.record(makeSample(sequence), agent: name, session: "s", now: 1)
                    }
                }
                group.addTask {
                    for _ in 0..<50 { _ = store.snapshot(now: 1) }
                }
            }
        }
        let snapshot = store.snapshot(now: 1)
        #expect(snapshot.count == agents)
        #expect(snapshot.allSatisfy { $0.samplesReceived == samplesPerAgent && $0.latest?.sequence == samplesPerAgent })
    }

    @Test func concurrentReportFormatNamesAreUnique() async {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        let names = await withTaskGroup(of: String.self, returning: [String].self) { group in
            for _ in 0..<200 { group.addTask { store.nextReportFormatName() } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(names) == Set((1...200).map { "agent_\($0)" }))
    }
}
