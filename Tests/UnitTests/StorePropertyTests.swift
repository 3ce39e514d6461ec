import PropertyBased
import Testing

@testable import GatewayStore
@testable import MonitorModel

/// The store's invariants under random interleavings of connects, samples, disconnects and expiry,
/// checked against a small model of what the store promises (sessions, sequence numbers, takeover,
/// quotas, expiry).
@Suite("Store properties")
struct StorePropertyTests {
    /// One step of a random history: `kind` picks the operation, the others its arguments.
    struct Step: CustomStringConvertible, Sendable {
        var kind: Int
        var agent: Int
        var session: Int
        var sequence: UInt64
        var advance: Double

        var description: String { "(\(kind), a\(agent), s\(session), #\(sequence), +\(advance))" }
    }

    static let steps = zip(
        Gen.int(in: 0...5), Gen.int(in: 0...3), Gen.int(in: 0...1), Gen.uint64(in: 1...12), Gen.int(in: 0...400)
    )
    .map { Step(kind: $0.0, agent: $0.1, session: $0.2, sequence: $0.3, advance: Double($0.4)) }
    .array(of: 1...80)

    /// What the model knows about one agent name.
    struct ModelAgent {
        var session: String?
        var highest: UInt64?
        var samples: UInt64 = 0
        var connection: ConnectionID?
        var lastActivity: Double
        var disconnectedAt: Double?
    }

    @Test("sessions, sequences, takeover, quotas and expiry keep their promises in any order of events")
    func invariantsHold() async {
        await propertyCheck(count: 300, input: Self.steps) { steps in
            let quota = AgentQuota(maximumAgents: 3, maximumAnonymous: 2)
            let store = AgentStore(
                agentTimeout: .seconds(30), forgetAfter: .seconds(600), forgetAnonymousAfter: .seconds(60))
            var model: [String: ModelAgent] = [:]
            // Every connection the test opened, with the name it announced, newest last.
            var open: [(name: String, id: ConnectionID, session: String)] = []
            var now = 1_000.0
            for step in steps {
                now += step.advance
                let name = "agent-\(step.agent)"
                let session = "session-\(step.session)"
                switch step.kind {
                case 0, 1:
                    let known = store.isKnown(name)
                    do {
                        let connection = try store.admit(
                            agent: name, session: session, dialect: .native, remoteAddress: "x", quota: quota, now: now)
                        if let forgotten = connection.forgotten {
                            // At max-agents: the agent disconnected longest ago made room (audit 21, F2).
                            let gone = model.values.filter { $0.connection == nil }.compactMap(\.disconnectedAt)
                            #expect(!known, "a known agent's return forgot another")
                            #expect(model.count == quota.maximumAgents, "forgotten below max-agents")
                            #expect(
                                model[forgotten]?.connection == nil && model[forgotten]?.disconnectedAt == gone.min(),
                                "\(forgotten) forgotten, not the one gone longest, after \(steps)")
                            model[forgotten] = nil
                        }
                        let previous = model[name]
                        // last_seq: the highest held of this very session, never a number it does not hold.
                        let expected = previous?.session == session ? previous?.highest : nil
                        #expect(connection.lastSequence == expected, "last_seq after \(steps)")
                        #expect(connection.superseded == previous?.connection, "the superseded connection")
                        var agent = previous ?? ModelAgent(lastActivity: now)
                        if agent.session != session { (agent.session, agent.highest) = (session, nil) }
                        agent.connection = connection.id
                        agent.disconnectedAt = nil
                        model[name] = agent
                        open.append((name, connection.id, session))
                    } catch {
                        #expect(!known, "a known agent was refused")
                        let allConnected = model.values.allSatisfy { $0.connection != nil }
                        #expect(
                            (store.agentCount >= quota.maximumAgents && allConnected)
                                || store.anonymousCount >= quota.maximumAnonymous)
                    }
                case 2, 3:
                    // A sample on one of the connections opened for this name (possibly a superseded one).
                    guard let connection = open.last(where: { $0.name == name }) else { continue }
                    let chosen = step.kind == 3 ? (open.first { $0.name == name } ?? connection) : connection
                    let sample = makeSample(step.sequence, at: now)
                    let outcome = store.record(
                        sample, agent: name, session: chosen.session, connection: chosen.id, now: now)
                    guard var agent = model[name] else {
                        #expect(outcome == .superseded, "a sample for a forgotten agent was kept")
                        continue
                    }
                    if agent.connection != chosen.id {
                        #expect(outcome == .superseded, "a superseded connection's sample was taken")
                    } else if let highest = agent.highest, step.sequence <= highest {
                        #expect(outcome == .duplicate)
                    } else {
                        #expect(outcome == .new)
                        agent.highest = step.sequence
                        agent.samples += 1
                        agent.lastActivity = max(agent.lastActivity, now)
                    }
                    model[name] = agent
                case 4:
                    guard let index = open.lastIndex(where: { $0.name == name }) else { continue }
                    let connection = open.remove(at: index)
                    store.disconnected(agent: name, connection: connection.id, now: now)
                    if model[name]?.connection == connection.id {
                        model[name]?.connection = nil
                        model[name]?.lastActivity = now
                        model[name]?.disconnectedAt = now
                        // An agent that never delivered is forgotten with its connection (the hello flood).
                        if model[name]?.samples == 0 { model[name] = nil }
                    }
                default:
                    let forgotten = Set(store.expire(now: now))
                    for (name, agent) in model {
                        let limit = agent.samples == 0 ? 60.0 : 600.0
                        let due = agent.connection == nil && now - agent.lastActivity > limit
                        #expect(forgotten.contains(name) == due, "\(name) forgotten: \(forgotten.contains(name))")
                        if due { model[name] = nil }
                    }
                }
                // Invariants after every step.
                let snapshot = store.snapshot(now: now)
                #expect(snapshot.count <= quota.maximumAgents, "max-agents overshot")
                #expect(snapshot.map(\.name).sorted() == model.keys.sorted(), "known agents")
                let anonymous = snapshot.filter { $0.samplesReceived == 0 }.count
                #expect(store.anonymousCount == anonymous, "the anonymous count drifted")
                #expect(anonymous <= quota.maximumAnonymous, "max-anonymous-agents overshot")
                for agent in snapshot {
                    #expect(agent.samplesReceived == model[agent.name]?.samples, "samples of \(agent.name)")
                    #expect(agent.connected == (model[agent.name]?.connection != nil), "connection of \(agent.name)")
                }
            }
        }
    }
}
