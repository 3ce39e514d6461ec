import Testing

@testable import GatewayStore
@testable import MonitorModel

private func makeStore(timeout: Int = 30, forget: Int = 300) -> AgentStore {
    AgentStore(agentTimeout: .seconds(timeout), forgetAfter: .seconds(forget))
}

private func agent(_ store: AgentStore, _ name: String, now: Double) -> AgentSnapshot? {
    store.snapshot(now: now).first { $0.name == name }
}

@Suite struct StoreLivenessTests {
    @Test func agentGoesFromFreshToStaleToForgotten() throws {
        let store = makeStore(timeout: 30, forget: 300)
        let connection = store.connected(
            agent: "web-01", session: "s1", dialect: .native, remoteAddress: "10.0.0.1:40000", now: 1000)
        #expect(store.record(makeSample(1), agent: "web-01", session: "s1", now: 1000))

        let fresh = try #require(agent(store, "web-01", now: 1029.9))
        #expect(fresh.fresh && fresh.up && fresh.connected)
        #expect(fresh.lastSeen == 1000)

        let late = try #require(agent(store, "web-01", now: 1030))
        #expect(!late.fresh && !late.up && late.connected)

        store.disconnected(agent: "web-01", connection: connection.id, now: 1040)
        let gone = try #require(agent(store, "web-01", now: 1041))
        #expect(!gone.connected && !gone.up)
        // Forgetting counts from the disconnection, the later of the two last signs of life.
        #expect(store.expire(now: 1340) == [])
        #expect(store.agentCount == 1)
        #expect(store.expire(now: 1340.5) == ["web-01"])
        #expect(store.agentCount == 0)
        #expect(store.snapshot(now: 1341).isEmpty)
    }

    @Test func disconnectedAgentStaysFreshUntilItsLastSampleAges() throws {
        let store = makeStore(timeout: 30)
        let connection = store.connected(agent: "a", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        #expect(store.record(makeSample(0), agent: "a", session: nil, now: 10))
        store.disconnected(agent: "a", connection: connection.id, now: 11)
        let snapshot = try #require(agent(store, "a", now: 12))
        // Its values are still current, but "up" also requires the connection.
        #expect(snapshot.fresh && !snapshot.up)
    }

    @Test func connectedAgentWithoutSampleIsUpOnlyWithinTimeoutOfConnecting() throws {
        let store = makeStore(timeout: 30)
        _ = store.connected(agent: "new", session: "s", dialect: .native, remoteAddress: "x", now: 500)
        let early = try #require(agent(store, "new", now: 529))
        #expect(early.up && !early.fresh && early.latest == nil && early.lastSeen == nil)
        #expect(early.connectedSince == 500)
        let late = try #require(agent(store, "new", now: 530))
        #expect(!late.up)
    }

    @Test func reconnectAfterSilenceIsUpBeforeItsFirstNewSample() throws {
        let store = makeStore(timeout: 30)
        let first = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 0)
        _ = store.record(makeSample(1), agent: "a", session: "s", now: 0)
        store.disconnected(agent: "a", connection: first.id, now: 5)
        #expect(try #require(agent(store, "a", now: 100)).up == false)
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 100)
        let back = try #require(agent(store, "a", now: 101))
        #expect(back.up && !back.fresh)
    }

    @Test func connectedAgentIsNeverForgotten() {
        let store = makeStore(timeout: 1, forget: 1)
        _ = store.connected(agent: "idle", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        #expect(store.expire(now: 1_000_000) == [])
        #expect(store.agentCount == 1)
    }

    @Test func expireReturnsOnlyTheAgentsDueSorted() {
        let store = makeStore(timeout: 10, forget: 100)
        for (name, closedAt) in [("c", 0.0), ("a", 0.0), ("b", 50.0)] {
            let connection = store.connected(
                agent: name, session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
            store.disconnected(agent: name, connection: connection.id, now: closedAt)
        }
        #expect(store.expire(now: 120) == ["a", "c"])
        #expect(store.snapshot(now: 120).map(\.name) == ["b"])
    }

    @Test func reconfigureAppliesNewLimitsToExistingAgents() throws {
        let store = makeStore(timeout: 30, forget: 300)
        let connection = store.connected(agent: "a", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        _ = store.record(makeSample(0), agent: "a", session: nil, now: 0)
        #expect(try #require(agent(store, "a", now: 20)).fresh)
        store.reconfigure(agentTimeout: .seconds(10), forgetAfter: .milliseconds(15_500))
        #expect(try #require(agent(store, "a", now: 20)).fresh == false)
        store.disconnected(agent: "a", connection: connection.id, now: 0)
        #expect(store.expire(now: 15.5) == [])
        #expect(store.expire(now: 15.6) == ["a"])
    }

    @Test func snapshotIsSortedByName() {
        let store = makeStore()
        for name in ["zeta", "agent_2", "Alpha", "agent_10", "beta"] {
            _ = store.connected(agent: name, session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        }
        let names = store.snapshot(now: 0).map(\.name)
        #expect(names == ["Alpha", "agent_10", "agent_2", "beta", "zeta"])
    }

    /// The snapshot is sorted through an index permutation: each agent must keep its own figures.
    @Test func sortedSnapshotKeepsEachAgentsOwnFigures() {
        let store = makeStore()
        let names = (0..<500).map { "agent-\(($0 * 7919) % 500)" }
        for (index, name) in names.enumerated() {
            _ = store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "10.0.0.\(index)", now: 0)
            for sequence in 0...UInt64(index % 3) {
                _ = store.record(makeSample(sequence + 1, at: 1), agent: name, session: "s", now: 1)
            }
        }
        let snapshot = store.snapshot(now: 1)
        #expect(snapshot.map(\.name) == names.sorted())
        for (index, name) in names.enumerated() {
            let agent = snapshot.first { $0.name == name }
            #expect(agent?.remoteAddress == "10.0.0.\(index)")
            #expect(agent?.samplesReceived == UInt64(index % 3) + 1)
        }
    }

    /// A known agent's sample is recorded in place: its first sample still moves it out of the
    /// undelivered quota, and a superseded connection's sample is still refused.
    @Test func samplesOfKnownAgentsKeepTheQuotaCountsAndTheNewestConnectionRule() throws {
        let store = makeStore()
        let quota = AgentQuota(maximumAgents: 10, maximumAnonymous: 1)
        let first = try store.admit(
            agent: "a", session: "s", dialect: .native, remoteAddress: "x", quota: quota, now: 0)
        #expect(store.anonymousCount == 1)
        #expect(throws: AgentRefusal.tooManyAnonymous) {
            try store.admit(agent: "b", session: "s", dialect: .native, remoteAddress: "x", quota: quota, now: 0)
        }
        #expect(store.record(makeSample(1), agent: "a", session: "s", connection: first.id, now: 1) == .new)
        #expect(store.anonymousCount == 0)
        _ = try store.admit(agent: "b", session: "s", dialect: .native, remoteAddress: "x", quota: quota, now: 1)
        let second = try store.admit(
            agent: "a", session: "s", dialect: .native, remoteAddress: "y", quota: quota, now: 2)
        #expect(store.record(makeSample(2), agent: "a", session: "s", connection: first.id, now: 2) == .superseded)
        #expect(store.record(makeSample(2), agent: "a", session: "s", connection: second.id, now: 2) == .new)
        #expect(store.record(makeSample(2), agent: "a", session: "s", connection: second.id, now: 2) == .duplicate)
        #expect(store.record(makeSample(3), agent: "ghost", session: "s", connection: second.id, now: 2) == .superseded)
    }

    @Test func snapshotCarriesConnectionDetails() throws {
        let store = makeStore()
        _ = store.connected(agent: "a", session: nil, dialect: .reportFormat, remoteAddress: "192.0.2.1:5000", now: 3)
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "192.0.2.9:6000", now: 7)
        let snapshot = try #require(agent(store, "a", now: 8))
        #expect(snapshot.dialect == .native)
        #expect(snapshot.remoteAddress == "192.0.2.9:6000")
        #expect(snapshot.connectedSince == 7)
    }
}

@Suite struct StoreConnectionTests {
    @Test func lateCloseOfReplacedConnectionKeepsAgentConnected() throws {
        let store = makeStore()
        let old = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 0)
        let new = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 1)
        #expect(old.id != new.id)
        store.disconnected(agent: "a", connection: old.id, now: 2)
        let afterOld = try #require(agent(store, "a", now: 2))
        #expect(afterOld.connected && afterOld.up)
        #expect(store.record(makeSample(1), agent: "a", session: "s", now: 2))
        store.disconnected(agent: "a", connection: new.id, now: 3)
        #expect(try #require(agent(store, "a", now: 3)).connected == false)
    }

    @Test func agentThatNeverDeliveredIsForgottenWithItsConnection() {
        let store = makeStore()
        let first = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 0)
        let second = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 1)
        // The replaced connection's close changes nothing; the current one's forgets the record.
        store.disconnected(agent: "a", connection: first.id, now: 2)
        #expect(store.isKnown("a") && store.anonymousCount == 1)
        store.disconnected(agent: "a", connection: second.id, now: 3)
        #expect(!store.isKnown("a") && store.anonymousCount == 0 && store.agentCount == 0)
    }

    @Test func disconnectOfUnknownAgentIsHarmless() {
        let store = makeStore()
        let connection = store.connected(agent: "a", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        store.disconnected(agent: "b", connection: connection.id, now: 1)
        #expect(store.agentCount == 1)
        #expect(store.snapshot(now: 1).first?.connected == true)
    }

    @Test func reconnectWithSameSessionContinuesTheSeries() throws {
        let store = makeStore()
        let first = store.connected(agent: "a", session: "s1", dialect: .native, remoteAddress: "x", now: 0)
        #expect(first.lastSequence == nil)
        for sequence in 1...3 as ClosedRange<UInt64> {
            #expect(store.record(makeSample(sequence), agent: "a", session: "s1", now: Double(sequence)))
        }
        store.disconnected(agent: "a", connection: first.id, now: 4)
        let second = store.connected(agent: "a", session: "s1", dialect: .native, remoteAddress: "x", now: 5)
        #expect(second.lastSequence == 3)
        #expect(store.record(makeSample(4), agent: "a", session: "s1", now: 6))
        let snapshot = try #require(agent(store, "a", now: 6))
        #expect(snapshot.samplesReceived == 4)
        #expect(snapshot.latest == makeSample(4))
        #expect(store.agentCount == 1)
    }

    /// docs/protocol.md: `last_seq` is absent when the gateway holds no sample of the session; an agent
    /// refuses `0`, which no sample carries (issue 11, defect 2).
    @Test func knownSessionWithoutSamplesReportsNoLastSequence() {
        let store = makeStore()
        _ = store.connected(agent: "a", session: "s1", dialect: .native, remoteAddress: "x", now: 0)
        let again = store.connected(agent: "a", session: "s1", dialect: .native, remoteAddress: "x", now: 1)
        #expect(again.lastSequence == nil)
    }

    @Test func newSessionRestartsNumberingButKeepsCounters() throws {
        let store = makeStore()
        _ = store.connected(agent: "a", session: "s1", dialect: .native, remoteAddress: "x", now: 0)
        #expect(store.record(makeSample(7), agent: "a", session: "s1", now: 1))
        let restarted = store.connected(agent: "a", session: "s2", dialect: .native, remoteAddress: "x", now: 2)
        #expect(restarted.lastSequence == nil)
        #expect(store.record(makeSample(1), agent: "a", session: "s2", now: 3))
        let snapshot = try #require(agent(store, "a", now: 3))
        #expect(snapshot.samplesReceived == 2)
        #expect(snapshot.latest == makeSample(1))
    }

    @Test func reportFormatNamesIncrementFromOneAndAreNeverReused() {
        let store = makeStore(timeout: 1, forget: 1)
        #expect(store.nextReportFormatName() == "agent_1")
        let connection = store.connected(
            agent: "agent_1", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        #expect(store.nextReportFormatName() == "agent_2")
        store.disconnected(agent: "agent_1", connection: connection.id, now: 0)
        #expect(store.expire(now: 100) == ["agent_1"])
        #expect(store.nextReportFormatName() == "agent_3")
    }
}

@Suite struct StoreRecordingTests {
    @Test func duplicatesAreNotCountedAgain() throws {
        let store = makeStore()
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 0)
        #expect(store.record(makeSample(1), agent: "a", session: "s", now: 1))
        #expect(store.record(makeSample(2), agent: "a", session: "s", now: 2))
        #expect(!store.record(makeSample(2, value: 99), agent: "a", session: "s", now: 3))
        #expect(!store.record(makeSample(1, value: 99), agent: "a", session: "s", now: 3))
        // Native numbering starts at 1, so 0 can never be new within a session.
        #expect(!store.record(makeSample(0, value: 99), agent: "a", session: "s", now: 3))
        let snapshot = try #require(agent(store, "a", now: 3))
        #expect(snapshot.samplesReceived == 2)
        #expect(snapshot.latest == makeSample(2))
        #expect(snapshot.lastSeen == 2)
    }

    @Test func unnumberedSamplesAreAlwaysNewAndTheNewestArrivalWins() throws {
        let store = makeStore()
        let name = store.nextReportFormatName()
        _ = store.connected(agent: name, session: nil, dialect: .reportFormat, remoteAddress: "x", now: 0)
        #expect(store.record(makeSample(0, value: 1), agent: name, session: nil, now: 1))
        #expect(store.record(makeSample(0, value: 2), agent: name, session: nil, now: 2))
        #expect(store.record(makeSample(0, value: 2), agent: name, session: nil, now: 3))
        let snapshot = try #require(agent(store, name, now: 3))
        #expect(snapshot.samplesReceived == 3)
        #expect(snapshot.latest?.ramUsagePercent == 2)
        #expect(snapshot.lastSeen == 3)
    }

    @Test func replayFromSupersededSessionCountsButDoesNotOverwriteNewerValue() throws {
        let store = makeStore()
        _ = store.connected(agent: "a", session: "old", dialect: .native, remoteAddress: "x", now: 0)
        #expect(store.record(makeSample(5, at: 10, value: 50), agent: "a", session: "old", now: 10))
        _ = store.connected(agent: "a", session: "new", dialect: .native, remoteAddress: "x", now: 20)
        #expect(store.record(makeSample(1, at: 21, value: 11), agent: "a", session: "new", now: 21))
        // A leftover of the old connection, read after the new session began.
        #expect(store.record(makeSample(6, at: 15, value: 60), agent: "a", session: "old", now: 22))
        let snapshot = try #require(agent(store, "a", now: 22))
        #expect(snapshot.samplesReceived == 3)
        #expect(snapshot.latest?.ramUsagePercent == 11)
        #expect(snapshot.lastSeen == 21)
        // The current session's numbering was not disturbed by the old one's higher sequence.
        #expect(store.record(makeSample(2, at: 23), agent: "a", session: "new", now: 23))
    }

    @Test func replayedOldSamplesNeverMoveLastSeenBackwards() throws {
        let store = makeStore(timeout: 30)
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 100)
        #expect(store.record(makeSample(1, at: 100), agent: "a", session: "s", now: 100))
        // Sequence 2 was taken earlier by a clock that stepped back; it is newer by sequence, older by time.
        #expect(store.record(makeSample(2, at: 40), agent: "a", session: "s", now: 101))
        let snapshot = try #require(agent(store, "a", now: 101))
        #expect(snapshot.lastSeen == 100)
        #expect(snapshot.latest == makeSample(2, at: 40))
        #expect(snapshot.samplesReceived == 2)
    }

    @Test func bufferedSamplesKeepTheirOwnTimeSoAnOldBacklogIsNotFresh() throws {
        let store = makeStore(timeout: 30)
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 1000)
        #expect(store.record(makeSample(1, at: 900), agent: "a", session: "s", now: 1000))
        let snapshot = try #require(agent(store, "a", now: 1000))
        #expect(snapshot.lastSeen == 900)
        #expect(!snapshot.fresh)
    }

    /// Audit 7, 01: an agent whose clock was a minute slow was shown down, its series gone, while it
    /// delivered every second.
    @Test func aSlowClockWithinTheToleranceIsUpAndFreshAndStillGoesStaleOnTime() throws {
        let store = makeStore(timeout: 30)
        _ = store.connected(agent: "slow", session: "s", dialect: .native, remoteAddress: "x", now: 1000)
        _ = store.connected(agent: "far", session: "t", dialect: .native, remoteAddress: "x", now: 1000)
        for second in 0...10 {
            let now = 1000 + Double(second)
            #expect(store.record(makeSample(UInt64(second + 1), at: now - 50), agent: "slow", session: "s", now: now))
            #expect(store.record(makeSample(UInt64(second + 1), at: now - 120), agent: "far", session: "t", now: now))
        }
        let slow = try #require(agent(store, "slow", now: 1010.5))
        #expect(slow.up && slow.fresh)
        #expect(slow.lastSeen == 960, "the last-seen time stays the agent's own")
        // Beyond clock-skew-tolerance (60 s) the values are too old to show, but delivering is being up.
        let far = try #require(agent(store, "far", now: 1010.5))
        #expect(far.up && !far.fresh)
        // Silent from 1010: stale and down after agent-timeout, as for any agent.
        let silent = try #require(agent(store, "slow", now: 1041))
        #expect(!silent.up && !silent.fresh)
    }

    @Test func futureTimestampsAreClampedToNow() throws {
        let store = makeStore(timeout: 30)
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 1000)
        #expect(store.record(makeSample(1, at: 1000 + 3600), agent: "a", session: "s", now: 1000))
        #expect(try #require(agent(store, "a", now: 1000)).lastSeen == 1000)
        #expect(try #require(agent(store, "a", now: 1030)).fresh == false)
    }

    @Test(arguments: [Double.nan, Double.infinity, -Double.infinity])
    func nonFiniteTimestampsCountAsArrivalTime(timestamp: Double) throws {
        let store = makeStore()
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 50)
        #expect(store.record(makeSample(1, at: timestamp), agent: "a", session: "s", now: 77))
        #expect(try #require(agent(store, "a", now: 77)).lastSeen == 77)
    }

    @Test func negativeTimestampIsClampedToTheEpoch() throws {
        let store = makeStore()
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 50)
        #expect(store.record(makeSample(1, at: -5), agent: "a", session: "s", now: 77))
        #expect(try #require(agent(store, "a", now: 77)).lastSeen == 0)
    }

    @Test func sampleOfUnannouncedAgentIsKeptAsDisconnected() throws {
        let store = makeStore()
        #expect(store.record(makeSample(3), agent: "ghost", session: "s", now: 5))
        #expect(!store.record(makeSample(3), agent: "ghost", session: "s", now: 5))
        let snapshot = try #require(agent(store, "ghost", now: 5))
        #expect(!snapshot.connected && !snapshot.up && snapshot.fresh)
        #expect(snapshot.dialect == .native)
        #expect(snapshot.samplesReceived == 1)
        #expect(store.expire(now: 306) == ["ghost"])
    }
}

@Suite("Store summary")
struct StoreSummaryTests {
    @Test("the summary agrees with the snapshot: up, known and samples received")
    func summaryMatchesSnapshot() {
        let store = AgentStore(agentTimeout: .seconds(10), forgetAfter: .seconds(100))
        let sample = Sample(
            sequence: 1, timestamp: 100, ramUsagePercent: 1, cpuUsagePercent: 1, processRAMGigabytes: 0.1,
            cpuInterrupts: 1)
        _ = store.connected(agent: "a", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 100)
        _ = store.record(sample, agent: "a", session: nil, now: 100)
        _ = store.record(sample, agent: "a", session: nil, now: 101)
        let b = store.connected(agent: "b", session: nil, dialect: .reportFormat, remoteAddress: "y", now: 100)
        store.disconnected(agent: "b", connection: b.id, now: 102)
        _ = store.connected(agent: "c", session: nil, dialect: .reportFormat, remoteAddress: "z", now: 90)
        for now in [100.0, 105, 109.5, 111, 150] {
            let snapshot = store.snapshot(now: now)
            let summary = store.summary(now: now)
            #expect(summary.up == snapshot.count(where: \.up), "at \(now)")
            #expect(summary.known == snapshot.count)
            #expect(summary.samplesReceived == snapshot.reduce(0) { $0 + $1.samplesReceived })
        }
        #expect(store.summary(now: 105).up == 1, "a is up; b left; c connected at 90 and never sent")
    }
}
