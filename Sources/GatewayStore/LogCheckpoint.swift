/// What the write-ahead log's records up to some point add up to, per agent: its received count,
/// its newest record (session, last sequence, latest values) and when it was last seen. The log
/// keeps one as it appends and writes it at the start of every new segment, so that a restart
/// after `wal-max-size` deleted the oldest segments starts from the totals of everything before
/// the oldest remaining one instead of from zero: a counter never goes down across a restart.
///
/// ``add(_:)`` counts a record as a replay into the store would (``AgentStore/restore(_:)``
/// installs the result): a record of the agent's current session whose sequence is not above the
/// last one held is a resend, not counted.
public struct LogCheckpoint: Sendable, Equatable {
    public struct Agent: Sendable, Equatable {
        /// The agent's newest record: its name, session, last sequence and latest values.
        public var latest: WALRecord
        /// Samples accepted from the agent, duplicates not (never 0: an agent is here once it sent one).
        public var samplesReceived: UInt64
        /// The newest of its samples' times (each trusted only up to its arrival).
        public var lastSeen: Double

        public init(latest: WALRecord, samplesReceived: UInt64, lastSeen: Double) {
            self.latest = latest
            self.samplesReceived = samplesReceived
            self.lastSeen = lastSeen
        }
    }

    public private(set) var agents: [String: Agent] = [:]

    public init() {}

    /// Counts one record, as replaying it into the store would.
    public mutating func add(_ record: WALRecord) {
        let seen = AgentRecord.effectiveTime(of: record.sample, now: record.arrival)
        guard var agent = agents[record.agent] else {
            agents[record.agent] = Agent(latest: record, samplesReceived: 1, lastSeen: seen)
            return
        }
        if agent.latest.session == record.session, record.sample.sequence <= agent.latest.sample.sequence { return }
        agent.latest = record
        // Saturating: a count read from a damaged or forged checkpoint must not wrap to zero.
        let (sum, overflow) = agent.samplesReceived.addingReportingOverflow(1)
        agent.samplesReceived = overflow ? .max : sum
        agent.lastSeen = max(agent.lastSeen, seen)
        agents[record.agent] = agent
    }

    /// Takes an agent's totals from a checkpoint written earlier: they replace what the records read
    /// so far said of it, since the checkpoint summed records that may no longer be on disk.
    public mutating func take(_ agent: Agent) {
        agents[agent.latest.agent] = agent
    }

    /// Forgets agents as the store would after a restart (``AgentStore/settleAfterRestore``):
    /// those whose newest record arrived more than `forgetAfter` seconds before the newest of all,
    /// then the least recently active beyond `maximumAgents`. Keeps the checkpoint as bounded as
    /// the store. Returns how many were forgotten.
    @discardableResult
    public mutating func forget(inactiveFor forgetAfter: Double, keeping maximumAgents: Int) -> Int {
        let before = agents.count
        guard let newest = agents.values.map(\.latest.arrival).max() else { return 0 }
        agents = agents.filter { newest - $0.value.latest.arrival <= forgetAfter }
        let excess = agents.count - max(maximumAgents, 0)
        if excess > 0 {
            let oldest = agents.map { (name: $0.key, arrival: $0.value.latest.arrival) }
                .sorted { ($0.arrival, $0.name) < ($1.arrival, $1.name) }
                .prefix(excess)
            for agent in oldest { agents[agent.name] = nil }
        }
        return before - agents.count
    }
}
