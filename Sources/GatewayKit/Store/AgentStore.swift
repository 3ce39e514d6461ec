public import MonitorModel
import Synchronization

/// The gateway's single source of truth about agents: every connection records into it, `/metrics` renders from it.
///
/// Time is always passed in (`now`, Unix seconds), so the caller owns the clock and tests can drive it.
///
/// Liveness, with `agentTimeout` as the deadline:
/// - *fresh*: the agent has a sample and its last sample is younger than `agentTimeout`. Only fresh agents export
///   the four report families, so a silent agent's values vanish instead of lingering as stale gauges.
/// - *up*: connected, and the later of its last sample and its (re)connection is younger than `agentTimeout`.
///   A just-connected agent counts as up before its first sample, because it has had no chance yet to be late;
///   it goes down if that first sample does not arrive in time.
/// - *forgotten*: disconnected, and neither a sample nor the disconnection happened within `forgetAfter`; the agent
///   disappears from every family, including the self-metrics. A connected agent is never forgotten: closing idle
///   connections is the gateway's job.
public final class AgentStore: Sendable {
    private struct Limits {
        var agentTimeout: Double
        var forgetAfter: Double
    }

    private struct State {
        var limits: Limits
        var agents: [String: AgentRecord] = [:]
        var lastLegacyNumber: UInt64 = 0
        var lastConnectionID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(agentTimeout: Duration, forgetAfter: Duration) {
        state = Mutex(State(limits: Limits(agentTimeout: agentTimeout.inSeconds, forgetAfter: forgetAfter.inSeconds)))
    }

    /// Applies a reloaded configuration; agents keep their state and are judged by the new limits from now on.
    public func reconfigure(agentTimeout: Duration, forgetAfter: Duration) {
        let limits = Limits(agentTimeout: agentTimeout.inSeconds, forgetAfter: forgetAfter.inSeconds)
        state.withLock { $0.limits = limits }
    }

    /// Allocates the label for a peer speaking the report's format: `agent_<n>`, n from 1 in order of connection,
    /// never reused while the process lives, so two peers never share a series.
    public func nextLegacyName() -> String {
        let number = state.withLock { state in
            state.lastLegacyNumber += 1
            return state.lastLegacyNumber
        }
        return "agent_\(number)"
    }

    /// Records that a connection announced itself (native hello, or a legacy peer's first object).
    ///
    /// A reconnecting agent keeps its series and counters; the new connection replaces any older one, whose
    /// late close is then ignored.
    public func connected(
        agent: String, session: String?, dialect: AgentDialect, remoteAddress: String, usesTLS: Bool = false,
        now: Double
    ) -> AgentConnection {
        state.withLock { state in
            state.lastConnectionID += 1
            let id = ConnectionID(rawValue: state.lastConnectionID)
            let lastSequence = state.agents[agent, default: AgentRecord(dialect: dialect, remoteAddress: remoteAddress)]
                .connect(
                    id, session: session, dialect: dialect, remoteAddress: remoteAddress, usesTLS: usesTLS, now: now)
            return AgentConnection(id: id, lastSequence: lastSequence)
        }
    }

    /// Records that a connection closed. Ignored when the agent has connected again since (`connection` is no longer
    /// its current one), so a slow-to-notice close of a dead socket cannot mark a live agent down.
    public func disconnected(agent: String, connection: ConnectionID, now: Double) {
        state.withLock { state in
            state.agents[agent]?.disconnect(connection, now: now)
        }
    }

    /// Records a sample and returns whether it was new.
    ///
    /// A sample of the agent's current session whose sequence is not above the highest held is a duplicate (a resend
    /// after a lost ack): the caller still acks it, but it is not counted again. Samples without a session (the report's
    /// format) are always new. An agent not announced through ``connected(agent:session:dialect:remoteAddress:now:)``
    /// is recorded anyway, as disconnected, so that no accepted sample is lost to a caller's ordering mistake.
    public func record(_ sample: Sample, agent: String, session: String?, now: Double) -> Bool {
        state.withLock { state in
            // The default is an autoclosure: built only for an unannounced agent.
            state.agents[
                agent,
                default: AgentRecord(dialect: session == nil ? .legacy : .native, remoteAddress: "", session: session)
            ].record(sample, session: session, now: now)
        }
    }

    /// Forgets disconnected agents that have been silent longer than `forgetAfter`, and returns their names (sorted)
    /// so the caller can log them.
    public func expire(now: Double) -> [String] {
        let forgotten = state.withLock { state in
            let forgetAfter = state.limits.forgetAfter
            var names: [String] = []
            for (name, record) in state.agents where !record.isConnected {
                let lastActivity = max(record.lastSeen ?? -Double.infinity, record.disconnectedAt ?? -Double.infinity)
                if !(now - lastActivity <= forgetAfter) { names.append(name) }
            }
            for name in names { state.agents.removeValue(forKey: name) }
            return names
        }
        return forgotten.sorted()
    }

    /// Every known agent, sorted by name. Only a copy of the records is taken under the lock; judging and sorting
    /// happen outside it, so rendering a large page does not hold up recording connections.
    public func snapshot(now: Double) -> [AgentSnapshot] {
        let (records, limits) = state.withLock { state in
            (Array(state.agents), state.limits)
        }
        return
            records
            .map { name, record in Self.snapshot(of: record, named: name, limits: limits, now: now) }
            .sorted { $0.name < $1.name }
    }

    /// Whether `agent` is known (connected, or not yet forgotten): a known agent is always let back in,
    /// whatever `max-agents` says, so a full gateway never locks out its own fleet.
    public func isKnown(_ agent: String) -> Bool {
        state.withLock { $0.agents[agent] != nil }
    }

    /// Counts for the daemon's one-line STATUS: one pass under the lock, no copy and no sort, so
    /// it costs little enough to run every second with many thousands of agents.
    public func summary(now: Double) -> (up: Int, known: Int, samplesReceived: UInt64) {
        state.withLock { state in
            var up = 0
            var samples: UInt64 = 0
            for record in state.agents.values {
                samples &+= record.samplesReceived
                if record.isUp(now: now, agentTimeout: state.limits.agentTimeout) { up += 1 }
            }
            return (up, state.agents.count, samples)
        }
    }

    /// The number of agents currently known (connected, or not yet forgotten).
    public var agentCount: Int {
        state.withLock { $0.agents.count }
    }

    private static func snapshot(of record: AgentRecord, named name: String, limits: Limits, now: Double)
        -> AgentSnapshot
    {
        let fresh = record.lastSeen.map { now - $0 < limits.agentTimeout } ?? false
        let up = record.isUp(now: now, agentTimeout: limits.agentTimeout)
        return AgentSnapshot(
            name: name,
            dialect: record.dialect,
            remoteAddress: record.remoteAddress,
            usesTLS: record.usesTLS,
            connected: record.isConnected,
            connectedSince: record.connectedSince,
            lastSeen: record.lastSeen,
            latest: record.latest,
            samplesReceived: record.samplesReceived,
            up: up,
            fresh: fresh
        )
    }
}
