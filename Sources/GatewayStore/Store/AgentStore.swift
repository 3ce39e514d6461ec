public import MonitorModel
import Synchronization

/// The gateway's single source of truth about agents: every connection records into it, `/metrics` renders from it.
///
/// Time is always passed in (`now`, Unix seconds), so the caller owns the clock and tests can drive it.
///
/// Liveness, with `agentTimeout` as the deadline:
/// - *fresh*: the agent has a sample and its last sample is younger than `agentTimeout`. Only fresh agents export
///   the four report families, so a silent agent's values vanish instead of lingering as stale gauges. The age is
///   the sample's own timestamp against the gateway's clock, less how far the agent's clock is seen to lag (the
///   least delay any of its samples arrived with, at most `clockSkewTolerance`): a host whose clock is a minute
///   slow is not taken for silent (audit 7, 01), and replayed old samples still do not count as fresh.
/// - *up*: connected, and the later of its last sample's arrival and its (re)connection is younger than
///   `agentTimeout`: delivering is being on time, whatever the agent's clock says.
///   A just-connected agent counts as up before its first sample, because it has had no chance yet to be late;
///   it goes down if that first sample does not arrive in time.
/// - *forgotten*: disconnected, and neither a sample nor the disconnection happened within `forgetAfter`; the agent
///   disappears from every family, including the self-metrics. A connected agent is never forgotten: closing idle
///   connections is the gateway's job. Report-format records, whose name no later connection can take up again,
///   are forgotten after the shorter `forgetAnonymousAfter`; a native agent that never delivered a sample is
///   forgotten as soon as its connection closes.
public final class AgentStore: Sendable {
    private struct Limits {
        var agentTimeout: Double
        /// How far an agent's clock may be seen to lag the gateway's and its samples still count as fresh.
        var clockSkewTolerance: Double = 60
        var forgetAfter: Double
        /// For records that no connection can take up again: anonymous ones (see ``AgentRecord/isAnonymous``).
        var forgetAnonymousAfter: Double
    }

    private struct State {
        var limits: Limits
        var agents = NameOrderedRecords()
        /// How many of `agents` are report-format and undelivered records, kept in step with every change so
        /// that admission costs O(1).
        var anonymous: [AgentRecord.Standing: Int] = [:]
        var lastReportFormatNumber: UInt64 = 0
        var lastConnectionID: UInt64 = 0
        /// Disconnections in the order they happened: the oldest still standing names the agent a
        /// newcomer replaces when `max-agents` is reached. An entry whose agent has connected again,
        /// been forgotten or gone again since is skipped, and dropped when the queue is compacted.
        var disconnections: [Disconnection] = []
        var disconnectionsHead = 0

        struct Disconnection {
            var name: String
            var at: Double
        }

        /// Changes (or creates) one record and keeps `anonymousCount` in step.
        mutating func modify<Result>(
            _ name: String, creating make: @autoclosure () -> AgentRecord, _ change: (inout AgentRecord) -> Result
        ) -> Result {
            let existing = agents.slot(of: name)
            let before = existing.map { agents.record(at: $0).standing } ?? .proven
            let slot = existing ?? agents.insert(make(), named: name)
            let result = agents.modify(at: slot, change)
            let after = agents.record(at: slot).standing
            if before != after {
                if before != .proven { anonymous[before, default: 0] -= 1 }
                if after != .proven { anonymous[after, default: 0] += 1 }
            }
            return result
        }

        /// Records a sample on the record in `slot`, in place, keeping `anonymous` in step.
        mutating func record(
            _ sample: Sample, at slot: Int, session: String?, connection: ConnectionID?, now: Double
        ) -> RecordOutcome {
            if let connection, agents.withRecord(at: slot, { $0.connection != connection }) { return .superseded }
            let (before, new, after) = agents.modify(at: slot) { record in
                let before = record.standing
                let new = record.record(sample, session: session, now: now)
                return (before, new, record.standing)
            }
            if before != after {
                if before != .proven { anonymous[before, default: 0] -= 1 }
                if after != .proven { anonymous[after, default: 0] += 1 }
            }
            return new ? .new : .duplicate
        }

        mutating func remove(_ name: String) {
            guard let record = agents.remove(name) else { return }
            if record.isAnonymous { anonymous[record.standing, default: 0] -= 1 }
        }

        /// Queues the agent's disconnection at `time` (its record's `disconnectedAt`). Compacted once
        /// stale entries outnumber the agents: an agent that comes and goes for days costs nothing.
        mutating func noteDisconnection(of name: String, at time: Double) {
            disconnections.append(Disconnection(name: name, at: time))
            if disconnections.count - disconnectionsHead > 2 * agents.count + 1024 {
                disconnections = disconnections[disconnectionsHead...].filter(isStanding)
                disconnectionsHead = 0
            }
        }

        private func isStanding(_ entry: Disconnection) -> Bool {
            guard let record = agents[entry.name] else { return false }
            return !record.isConnected && record.disconnectedAt == entry.at
        }

        /// Forgets the agent disconnected longest ago and returns its name, or nil when every agent
        /// is connected.
        mutating func forgetLongestDisconnected() -> String? {
            defer {
                if disconnectionsHead > 1024, disconnectionsHead * 2 > disconnections.count {
                    disconnections.removeFirst(disconnectionsHead)
                    disconnectionsHead = 0
                }
            }
            while disconnectionsHead < disconnections.count {
                let entry = disconnections[disconnectionsHead]
                disconnectionsHead += 1
                if isStanding(entry) {
                    remove(entry.name)
                    return entry.name
                }
            }
            return nil
        }
    }

    private let state: Mutex<State>

    public init(
        agentTimeout: Duration, forgetAfter: Duration, forgetAnonymousAfter: Duration? = nil,
        clockSkewTolerance: Duration = .seconds(60)
    ) {
        state = Mutex(
            State(
                limits: Self.limits(
                    agentTimeout: agentTimeout, forgetAfter: forgetAfter, anonymous: forgetAnonymousAfter,
                    clockSkewTolerance: clockSkewTolerance)))
    }

    /// Applies a reloaded configuration; agents keep their state and are judged by the new limits from now on.
    public func reconfigure(
        agentTimeout: Duration, forgetAfter: Duration, forgetAnonymousAfter: Duration? = nil,
        clockSkewTolerance: Duration = .seconds(60)
    ) {
        let limits = Self.limits(
            agentTimeout: agentTimeout, forgetAfter: forgetAfter, anonymous: forgetAnonymousAfter,
            clockSkewTolerance: clockSkewTolerance)
        state.withLock { $0.limits = limits }
    }

    /// An anonymous record is kept at least until it is down (`agentTimeout`) and at most as long as any other.
    private static func limits(
        agentTimeout: Duration, forgetAfter: Duration, anonymous: Duration?, clockSkewTolerance: Duration
    ) -> Limits {
        let timeout = agentTimeout.inSeconds
        let forget = forgetAfter.inSeconds
        let short = anonymous.map { min(max($0.inSeconds, timeout), forget) } ?? forget
        return Limits(
            agentTimeout: timeout, clockSkewTolerance: max(clockSkewTolerance.inSeconds, 0), forgetAfter: forget,
            forgetAnonymousAfter: short)
    }

    /// Allocates the label for a peer speaking the report's format: `agent_<n>`, n from 1 in order of connection,
    /// never reused while the process lives, so two peers never share a series.
    public func nextReportFormatName() -> String {
        let number = state.withLock { state in
            state.lastReportFormatNumber += 1
            return state.lastReportFormatNumber
        }
        return "agent_\(number)"
    }

    /// Records that a connection announced itself (native hello, or a report-format peer.s first object), without bounds.
    public func connected(
        agent: String, session: String?, dialect: AgentDialect, remoteAddress: String, usesTLS: Bool = false,
        now: Double
    ) -> AgentConnection {
        state.withLock { state in
            Self.connect(
                &state, agent: agent, session: session, dialect: dialect, remoteAddress: remoteAddress,
                usesTLS: usesTLS, now: now)
        }
    }

    /// Records that a connection announced itself, if the quota lets a new agent in.
    ///
    /// A known agent is always let back in, whatever the quota says, so a full gateway never locks out its own
    /// fleet. The check and the insertion happen under one lock: concurrent newcomers cannot overshoot.
    /// A reconnecting agent keeps its series and counters; the new connection replaces any older one, which is
    /// returned as ``AgentConnection/superseded`` (newest wins) and whose samples are no longer kept.
    ///
    /// At `maximumAgents`, a newcomer takes the place of the agent disconnected longest ago, which is
    /// forgotten (``AgentConnection/forgotten``): names that connect once and go (a peer inventing one
    /// per connection, thousands a second) would otherwise fill the table for `forget-after` and lock
    /// every new host out (audit 21, F2). Only when every agent is connected is a newcomer refused.
    public func admit(
        agent: String, session: String?, dialect: AgentDialect, remoteAddress: String, usesTLS: Bool = false,
        quota: AgentQuota, now: Double
    ) throws(AgentRefusal) -> AgentConnection {
        try state.withLock { (state) throws(AgentRefusal) -> AgentConnection in
            var forgotten: String?
            if state.agents.slot(of: agent) == nil {
                // Every new record starts anonymous: report-format, or native with nothing delivered yet. The
                // two are counted apart, so that a flood of report-format peers cannot keep new agents out.
                let standing: AgentRecord.Standing = dialect == .reportFormat ? .reportFormat : .undelivered
                guard state.anonymous[standing, default: 0] < quota.maximumAnonymous else { throw .tooManyAnonymous }
                if state.agents.count >= quota.maximumAgents {
                    guard state.agents.count == quota.maximumAgents, let name = state.forgetLongestDisconnected()
                    else { throw .tooManyAgents }
                    forgotten = name
                }
            }
            var connection = Self.connect(
                &state, agent: agent, session: session, dialect: dialect, remoteAddress: remoteAddress,
                usesTLS: usesTLS, now: now)
            connection.forgotten = forgotten
            return connection
        }
    }

    private static func connect(
        _ state: inout State, agent: String, session: String?, dialect: AgentDialect, remoteAddress: String,
        usesTLS: Bool, now: Double
    ) -> AgentConnection {
        state.lastConnectionID += 1
        let id = ConnectionID(rawValue: state.lastConnectionID)
        let previous = state.agents[agent]?.connection
        let lastSequence = state.modify(agent, creating: AgentRecord(dialect: dialect, remoteAddress: remoteAddress)) {
            $0.connect(id, session: session, dialect: dialect, remoteAddress: remoteAddress, usesTLS: usesTLS, now: now)
        }
        return AgentConnection(id: id, lastSequence: lastSequence, superseded: previous)
    }

    /// Records that a connection closed. Ignored when the agent has connected again since (`connection` is no longer
    /// its current one), so a slow-to-notice close of a dead socket cannot mark a live agent down.
    ///
    /// A native agent that never delivered a sample is forgotten with its connection: it holds nothing a later
    /// connection could continue, and keeping it would let hellos that never deliver fill `max-anonymous-agents`
    /// from one host and lock the fleet's new members out. The undelivered quota so counts live connections only.
    public func disconnected(agent: String, connection: ConnectionID, now: Double) {
        state.withLock { state in
            guard let record = state.agents[agent] else { return }
            if record.connection == connection, record.standing == .undelivered {
                state.remove(agent)
                return
            }
            state.modify(agent, creating: AgentRecord(dialect: .native, remoteAddress: "")) {
                $0.disconnect(connection, now: now)
            }
            if let at = state.agents[agent]?.disconnectedAt, at == now { state.noteDisconnection(of: agent, at: at) }
        }
    }

    /// Records a sample and returns whether it was new.
    ///
    /// A sample of the agent's current session whose sequence is not above the highest held is a duplicate (a resend
    /// after a lost ack): the caller still acks it, but it is not counted again. Samples without a session (the report's
    /// format) are always new. An agent not announced through ``connected(agent:session:dialect:remoteAddress:now:)``
    /// is recorded anyway, as disconnected, so that no accepted sample is lost to a caller's ordering mistake.
    public func record(_ sample: Sample, agent: String, session: String?, now: Double) -> Bool {
        record(sample, agent: agent, session: session, connection: nil, now: now) == .new
    }

    /// Records a sample that came on `connection`: not kept if that connection has been superseded.
    public func record(_ sample: Sample, agent: String, session: String?, connection: ConnectionID?, now: Double)
        -> RecordOutcome
    {
        state.withLock { state in
            // The usual case, a known agent: one hash of its name, the record changed in place.
            if let slot = state.agents.slot(of: agent) {
                return state.record(sample, at: slot, session: session, connection: connection, now: now)
            }
            if connection != nil { return .superseded }
            // The default is an autoclosure: built only for an unannounced agent.
            let new = state.modify(
                agent,
                creating: AgentRecord(
                    dialect: session == nil ? .reportFormat : .native, remoteAddress: "", session: session)
            ) { $0.record(sample, session: session, now: now) }
            return new ? .new : .duplicate
        }
    }

    /// Installs what replaying the write-ahead log added up to, at start and before the agent port
    /// opens: each agent as if it had connected with its newest record's session, delivered its
    /// samples by their arrival times and gone. A reconnecting agent's welcome then carries its last
    /// sequence, and `/metrics` its latest values and counters.
    public func restore(_ checkpoint: LogCheckpoint) {
        state.withLock { state in
            for (name, agent) in checkpoint.agents {
                let latest = agent.latest
                var record = AgentRecord(dialect: .native, remoteAddress: "", session: latest.session)
                record.highestSequence = latest.sample.sequence
                record.latest = latest.sample
                record.samplesReceived = agent.samplesReceived
                record.lastSeen = agent.lastSeen
                record.lastArrival = latest.arrival
                // The newest record's time, or a newer time seen earlier (trusted up to its arrival):
                // what a clamped sample must be stamped after.
                let newest = max(latest.sample.timestamp ?? latest.arrival, agent.lastSeen)
                record.newestTime = newest.isFinite ? newest : nil
                // `leastDelay` stays unset (learnt on the next connection): fresh by the samples' time alone.
                record.connectedSince = latest.arrival
                record.disconnectedAt = latest.arrival
                state.modify(name, creating: record) { $0 = record }
            }
            // Gone as of their last records: the longest gone is the first a newcomer replaces at max-agents.
            for (name, agent) in checkpoint.agents.sorted(by: {
                ($0.value.latest.arrival, $0.key) < ($1.value.latest.arrival, $1.key)
            }) {
                state.noteDisconnection(of: name, at: agent.latest.arrival)
            }
        }
    }

    /// The time to keep a sample of `agent` with whose own `ts` is further ahead of its arrival `now`
    /// than `clock-skew-tolerance`: its arrival, or just after the agent's newest time if that is
    /// not earlier (see ``AgentRecord/clampedTime(now:tolerance:)``).
    public func clampedTime(of agent: String, now: Double) -> Double {
        state.withLock { state in
            state.agents[agent]?.clampedTime(now: now, tolerance: state.limits.clockSkewTolerance) ?? now
        }
    }

    /// Forgets disconnected agents that have been silent longer than `forgetAfter` (anonymous ones: longer than
    /// `forgetAnonymousAfter`), and returns their names (sorted) so the caller can log them.
    public func expire(now: Double) -> [String] {
        let forgotten = state.withLock { state in
            let limits = state.limits
            var names: [String] = []
            for (name, record) in state.agents.inNameOrder where !record.isConnected {
                let lastActivity = max(record.lastSeen ?? -Double.infinity, record.disconnectedAt ?? -Double.infinity)
                let forgetAfter = record.isAnonymous ? limits.forgetAnonymousAfter : limits.forgetAfter
                if !(now - lastActivity <= forgetAfter) { names.append(name) }
            }
            for name in names { state.remove(name) }
            return names
        }
        return forgotten.sorted()
    }

    /// Forgets the disconnected agents that were active least recently until at most `maximum`
    /// remain (connected ones are never forgotten here). Returns their names, sorted.
    package func forgetLeastRecentlyActive(keeping maximum: Int) -> [String] {
        let forgotten = state.withLock { state -> [String] in
            let excess = state.agents.count - max(maximum, 0)
            guard excess > 0 else { return [] }
            let candidates = state.agents.inNameOrder.filter { !$0.record.isConnected }
                .map { (name: $0.name, lastActivity: max($0.record.lastSeen ?? 0, $0.record.disconnectedAt ?? 0)) }
                .sorted { ($0.lastActivity, $0.name) < ($1.lastActivity, $1.name) }
            let names = candidates.prefix(excess).map(\.name)
            for name in names { state.remove(name) }
            return names
        }
        return forgotten.sorted()
    }

    /// Every known agent, sorted by name: the store keeps them in that order, so nothing is sorted
    /// here. The snapshots are taken under the lock, in one pass.
    public func snapshot(now: Double) -> [AgentSnapshot] {
        state.withLock { state in
            state.agents.inNameOrder.map { name, record in
                Self.snapshot(of: record, named: name, limits: state.limits, now: now)
            }
        }
    }

    /// What a scrape of `/metrics` needs, in name order: each agent's slot and version, and whether
    /// it is up and exports the report's families at `now`. The name and figures are copied only for
    /// the agents whose kept lines are not current (`isKept` says which), so that the lock is held
    /// for a walk over the slots, not for a copy of every record.
    package func scrape(now: Double, isKept: (_ slot: Int, _ version: UInt64) -> Bool) -> AgentScrape {
        state.withLock { state in
            let limits = state.limits
            var scrape = AgentScrape()
            scrape.agents.reserveCapacity(state.agents.count)
            for slot in state.agents.order {
                let version = state.agents.version(at: slot)
                let (up, reports) = state.agents.withRecord(at: slot) { record in
                    (
                        record.isUp(now: now, agentTimeout: limits.agentTimeout),
                        record.latest != nil
                            && record.isFresh(
                                now: now, agentTimeout: limits.agentTimeout, tolerance: limits.clockSkewTolerance)
                    )
                }
                scrape.agents.append(AgentScrape.Agent(slot: slot, version: version, up: up, exportsReport: reports))
                if !isKept(slot, version) {
                    let record = state.agents.record(at: slot)
                    scrape.changed.append(
                        AgentScrape.Changed(
                            slot: slot, version: version, name: state.agents.name(at: slot), latest: record.latest,
                            lastSeen: record.lastSeen, samplesReceived: record.samplesReceived))
                }
            }
            return scrape
        }
    }

    /// Whether `agent` is known (connected, or not yet forgotten): a known agent is always let back in,
    /// whatever `max-agents` says, so a full gateway never locks out its own fleet.
    public func isKnown(_ agent: String) -> Bool {
        state.withLock { $0.agents.slot(of: agent) != nil }
    }

    /// Counts for the daemon's one-line STATUS: one pass under the lock, no copy and no sort, so
    /// it costs little enough to run every second with many thousands of agents.
    public func summary(now: Double) -> (up: Int, known: Int, samplesReceived: UInt64) {
        state.withLock { state in
            var up = 0
            var samples: UInt64 = 0
            for (_, record) in state.agents.inNameOrder {
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

    /// The number of anonymous records (report-format peers, agents that have delivered nothing yet).
    public var anonymousCount: Int {
        state.withLock { $0.anonymous.values.reduce(0, +) }
    }

    /// The session whose numbering the store holds for `agent`.
    package func session(of agent: String) -> String? {
        state.withLock { $0.agents[agent]?.session }
    }

    /// Forgets the highest sequence held of the agent's session: what the write-ahead log could not
    /// take must not be promised by the next welcome, so that the agent sends it again (as new).
    package func forgetSequence(of agent: String) {
        state.withLock { state in
            guard let slot = state.agents.slot(of: agent) else { return }
            state.agents.modify(at: slot) { $0.highestSequence = nil }
        }
    }

    /// The last `count` samples of `agent` were refused after the store took them (the write-ahead
    /// log could not keep them): its sequence is forgotten, so the agent sends them again, and they
    /// leave its received count, so that they are counted once, when they are kept. Ignored when
    /// `connection` (the one that took them) has been replaced: the newer one owns the record now,
    /// and forgot the sequence as it replaced it.
    package func forgetUnlogged(_ count: Int, of agent: String, connection: ConnectionID? = nil) {
        state.withLock { state in
            guard let slot = state.agents.slot(of: agent) else { return }
            if let connection, let current = state.agents.record(at: slot).connection, current != connection { return }
            state.agents.modify(at: slot) { record in
                record.highestSequence = nil
                record.samplesReceived -= min(UInt64(clamping: count), record.samplesReceived)
            }
        }
    }

    /// Forgets every agent's last sequence: their next samples are all new, replays included. For
    /// `acknowledge = forwarded` when records of the log were lost before they were forwarded: the
    /// samples they held come again from the agents and must be logged again, not taken as replays.
    package func forgetSequences() {
        state.withLock { state in
            for slot in state.agents.order { state.agents.modify(at: slot) { $0.highestSequence = nil } }
        }
    }

    /// The agent's current connection, if it is connected.
    func currentConnection(of agent: String) -> ConnectionID? {
        state.withLock { $0.agents[agent]?.connection }
    }

    private static func snapshot(of record: AgentRecord, named name: String, limits: Limits, now: Double)
        -> AgentSnapshot
    {
        let fresh = record.isFresh(now: now, agentTimeout: limits.agentTimeout, tolerance: limits.clockSkewTolerance)
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
