import Foundation
import TestSupport
import Testing

@testable import GatewayStatus
@testable import GatewayStore
@testable import MonitorModel

/// Three agents, one in each state, taken through the real store: up (native, fresh), late (connected, silent past
/// the timeout), down (a report-format peer that disconnected).
func statusFixture(now: Double = 1_000_100) -> [AgentSnapshot] {
    let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(3600))
    let start = now - 100
    _ = store.connected(agent: "web-01", session: "s1", dialect: .native, remoteAddress: "[::1]:40000", now: start)
    _ = store.record(
        Sample(
            sequence: 7, timestamp: now - 2, ramUsagePercent: 58.4, cpuUsagePercent: 2.8,
            processRAMGigabytes: 0.00927734375, cpuInterrupts: 706_148), agent: "web-01", session: "s1", now: now - 2)
    _ = store.connected(agent: "db-01", session: "s2", dialect: .native, remoteAddress: "10.0.0.2:5000", now: start)
    _ = store.record(
        Sample(
            sequence: 1, timestamp: start + 1, ramUsagePercent: 10, cpuUsagePercent: 20, processRAMGigabytes: 0.5,
            cpuInterrupts: 42), agent: "db-01", session: "s2", now: start + 1)
    let name = store.nextReportFormatName()
    let reportFormat = store.connected(
        agent: name, session: nil, dialect: .reportFormat, remoteAddress: "<b>\"evil\" & 'co'</b>", now: start)
    _ = store.record(
        Sample(
            sequence: 0, timestamp: nil, ramUsagePercent: .nan, cpuUsagePercent: .infinity, processRAMGigabytes: 1,
            cpuInterrupts: .max), agent: name, session: nil, now: start + 2)
    store.disconnected(agent: name, connection: reportFormat.id, now: start + 3)
    return store.snapshot(now: now)
}

@Suite struct StatusJSONTests {
    @Test func documentDecodesToTheSnapshot() throws {
        let now = 1_000_100.5
        let snapshot = statusFixture(now: now)
        let json = AgentsJSON.render(snapshot, now: now, version: "9.9.9")
        let document = try JSONDecoder().decode(AgentsDocument.self, from: Data(json.utf8))
        #expect(document.now == now)
        #expect(document.version == "9.9.9")
        #expect(document.counts == .init(total: 3, up: 1, late: 1, down: 1))
        #expect(document.agents.map(\.name) == snapshot.map(\.name))
        for (decoded, agent) in zip(document.agents, snapshot) {
            #expect(decoded.dialect == agent.dialect.rawValue)
            #expect(decoded.transport == "tcp")
            #expect(decoded.remoteAddress == agent.remoteAddress)
            #expect(decoded.connected == agent.connected)
            #expect(decoded.connectedSince == agent.connectedSince)
            #expect(decoded.lastSeen == agent.lastSeen)
            #expect(decoded.samplesReceived == agent.samplesReceived)
            #expect(decoded.up == agent.up)
            #expect(decoded.fresh == agent.fresh)
            #expect(decoded.state == AgentHealth(agent).rawValue)
            let latest = try #require(decoded.latest)
            let sample = try #require(agent.latest)
            #expect(latest.sequence == sample.sequence)
            #expect(latest.timestamp == sample.timestamp)
            #expect(latest.cpuInterrupts == sample.cpuInterrupts)
            // Non-finite values have no JSON form: null, never a bare NaN that breaks every parser.
            for (decodedValue, value) in [
                (latest.ramUsagePercent, sample.ramUsagePercent), (latest.cpuUsagePercent, sample.cpuUsagePercent),
                (latest.processRAMGigabytes, sample.processRAMGigabytes),
            ] {
                #expect(decodedValue == (value.isFinite ? value : nil))
            }
        }
        let states = Dictionary(uniqueKeysWithValues: document.agents.map { ($0.name, $0.state) })
        #expect(states == ["web-01": "up", "db-01": "late", "agent_1": "down"])
    }

    @Test func hostileTextSurvivesTheRoundTripAndStaysInert() throws {
        let names = StatusEscapingTests.hostile
        let agents = names.enumerated().map { index, name in
            AgentSnapshot(
                name: name, dialect: .reportFormat, remoteAddress: name + ":\(index)", connected: true,
                connectedSince: 1,
                lastSeen: nil, latest: nil, samplesReceived: 0, up: true, fresh: false)
        }
        let json = AgentsJSON.render(agents, now: 2)
        #expect(!json.contains("<") && !json.contains(">") && !json.contains("&"))
        let document = try JSONDecoder().decode(AgentsDocument.self, from: Data(json.utf8))
        #expect(document.agents.map(\.name) == names)
        #expect(document.agents.map(\.remoteAddress) == agents.map(\.remoteAddress))
        #expect(document.agents.allSatisfy { $0.latest == nil && $0.lastSeen == nil })
    }

    @Test func emptyStoreIsAnEmptyList() throws {
        let json = AgentsJSON.render([], now: 5)
        #expect(
            json
                == #"{"now":5.0,"version":"\#(MonitorVersion.current)","counts":{"total":0,"up":0,"late":0,"down":0},"agents":[]}"#
                + "\n")
    }
}
