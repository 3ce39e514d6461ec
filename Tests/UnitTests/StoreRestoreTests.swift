import Testing

@testable import GatewayKit
@testable import GatewayStore
@testable import GatewayWAL
@testable import GatewayWALFiles
@testable import MonitorModel

/// A gateway restarted with a write-ahead log rebuilds its store from it before the agent port
/// opens: the welcome of a reconnecting agent carries its last sequence, `/metrics` its values.
@Suite("Store restored from the write-ahead log")
struct StoreRestoreTests {
    @Test("the newest session's last sequence, the latest values and every sample counted, the agent disconnected")
    func restore() throws {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
        let old = "aaaaaaaaaaaaaaaa"
        let new = "bbbbbbbbbbbbbbbb"
        // A resend of the current session (2 again) is not counted; one of an older session is.
        store.restore(
            (1...5).map { walRecord($0, agent: "web-1", session: old) }
                + (1...3).map { walRecord($0, agent: "web-1", session: new) } + [
                    walRecord(2, agent: "web-1", session: new), walRecord(9, agent: "db-1", session: old),
                ])
        let now = walRecord(9).arrival + 1
        let snapshot = store.snapshot(now: now)
        #expect(snapshot.map(\.name) == ["db-1", "web-1"])
        #expect(snapshot.allSatisfy { !$0.connected && $0.fresh })
        #expect(snapshot[1].samplesReceived == 8 && snapshot[1].latest == walRecord(3, session: new).sample)
        let quota = AgentQuota(maximumAgents: 10, maximumAnonymous: 10)
        let resumed = try store.admit(
            agent: "web-1", session: new, dialect: .native, remoteAddress: "r", quota: quota, now: now)
        #expect(resumed.lastSequence == 3)
        let restarted = try store.admit(
            agent: "db-1", session: new, dialect: .native, remoteAddress: "r", quota: quota, now: now)
        #expect(restarted.lastSequence == nil)
        // What the log failed to take is no longer promised: the agent resends it.
        store.forgetSequence(of: "web-1")
        #expect(store.record(walRecord(2).sample, agent: "web-1", session: new, now: now))
        // Refused samples leave the received count too: the resend is counted once (the audit saw
        // samples_received_total above what the gateway kept while its disk was full).
        #expect(store.record(walRecord(4, session: new).sample, agent: "web-1", session: new, now: now))
        let before = store.snapshot(now: now).first { $0.name == "web-1" }?.samplesReceived ?? 0
        store.forgetUnlogged(1, of: "web-1")
        #expect(store.snapshot(now: now).first { $0.name == "web-1" }?.samplesReceived == before - 1)
        #expect(store.record(walRecord(4, session: new).sample, agent: "web-1", session: new, now: now))
        #expect(store.snapshot(now: now).first { $0.name == "web-1" }?.samplesReceived == before)
        store.forgetUnlogged(Int.max, of: "web-1")
        #expect(store.snapshot(now: now).first { $0.name == "web-1" }?.samplesReceived == 0)
    }
}

@Suite("Store after a replay: retired and surplus agents")
struct StoreSettleTests {
    /// A record of `agent` that arrived at `arrival`.
    func record(_ agent: String, at arrival: Double) -> WALRecord {
        var record = walRecord(1, agent: agent)
        record.arrival = arrival
        record.sample.timestamp = arrival - 0.5
        return record
    }

    @Test("agents past forget-after by their last record are forgotten at once, not a forget-after after the restart")
    func retiredAgentsStayForgotten() {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
        let now = 1_800_000_000.0
        store.restore(
            (1...4).map { record("retired-\($0)", at: now - 7200 - Double($0)) } + [record("recent", at: now - 60)])
        let settled = store.settleAfterRestore(now: now, maximumAgents: 100)
        #expect(settled.expired == ["retired-1", "retired-2", "retired-3", "retired-4"])
        #expect(settled.overLimit.isEmpty)
        #expect(store.snapshot(now: now).map(\.name) == ["recent"])
    }

    @Test("more restored agents than max-agents: the least recently active go, so new agents are not locked out")
    func surplusAgentsGo() throws {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
        let now = 1_800_000_000.0
        store.restore((1...6).map { record("host-\($0)", at: now - 600 + Double($0)) })
        let settled = store.settleAfterRestore(now: now, maximumAgents: 4)
        #expect(settled.expired.isEmpty)
        #expect(settled.overLimit == ["host-1", "host-2"])
        #expect(store.snapshot(now: now).map(\.name) == ["host-3", "host-4", "host-5", "host-6"])
        // A known agent still gets back in; the store is at, not over, its maximum.
        let quota = AgentQuota(maximumAgents: 4, maximumAnonymous: 4)
        _ = try store.admit(
            agent: "host-6", session: "cccccccccccccccc", dialect: .native, remoteAddress: "r", quota: quota, now: now)
        #expect(store.agentCount == 4)
    }
}

@Suite("Counters restored after wal-max-size deleted the oldest segments")
struct StoreRestoreAfterRotationTests {
    func arriving(_ record: WALRecord, at round: Int) -> WALRecord {
        var record = record
        record.arrival = 1_700_000_000 + Double(round)
        record.sample.timestamp = record.arrival - 0.5
        return record
    }

    @Test("a restart after the bound deleted segments restores every agent's count, not fewer (audit 5, 05)")
    func countersDoNotGoBackwards() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let maximum = 1 << 20
        var sequences: [String: UInt64] = ["web-1": 0, "db-1": 0]
        var newest: [String: WALRecord] = [:]
        do {
            let (wal, _, _) = try fixture.open(maximumBytes: maximum, policy: .every(.seconds(60)))
            for round in 0..<300 {
                let agent = round % 3 == 0 ? "db-1" : "web-1"
                // Both agents active throughout (one batch a second), as a fleet is.
                let batch = (0..<100).map { _ in
                    sequences[agent]! += 1
                    return arriving(walRecord(sequences[agent]!, agent: agent), at: round)
                }
                _ = try wal.append(batch)
                newest[agent] = batch.last
            }
            #expect(wal.statistics.droppedRecords > 0, "the bound must have deleted segments")
            await wal.close()
        }
        let (wal, recovery, _) = try fixture.open(maximumBytes: maximum)
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
        store.restore(recovery.checkpoint)
        let restored = Dictionary(uniqueKeysWithValues: store.snapshot(now: 1_700_100_000).map { ($0.name, $0) })
        for (agent, last) in sequences {
            #expect(restored[agent]?.samplesReceived == last, "\(agent)")
            #expect(restored[agent]?.latest == newest[agent]?.sample, "\(agent)")
        }
        await wal.close()
    }
}

extension AgentStore {
    /// Restores `records` as a start does: summed as the log's recovery sums them, then installed.
    func restore(_ records: [WALRecord]) {
        var checkpoint = LogCheckpoint()
        for record in records { checkpoint.add(record) }
        restore(checkpoint)
    }
}
