/// Identifies one connection of an agent, so that the late close of a replaced connection cannot mark a
/// reconnected agent as gone.
public struct ConnectionID: Hashable, Sendable {
    let rawValue: UInt64
}

/// What the store tells a connection that has just announced itself.
public struct AgentConnection: Hashable, Sendable {
    /// Pass back to ``AgentStore/disconnected(agent:connection:now:)`` when this connection closes.
    public let id: ConnectionID
    /// The highest sequence already held for the announced session, for the welcome's `last_seq`, so the agent
    /// resends only what the gateway lacks; `nil` when the store holds no sample of that session (a new
    /// session, none announced, or one that has not delivered yet).
    public let lastSequence: UInt64?
    /// The agent's previous connection, still open when this one announced the same name: the newest
    /// connection wins, and the caller closes this one with an error line.
    public let superseded: ConnectionID?
    /// The agent forgotten to make room for this one at `max-agents`: the one disconnected longest ago.
    public var forgotten: String? = nil
}

/// The bounds on what the store keeps, checked atomically with the insertion of a new agent, so that
/// hellos racing for the last slot can never overshoot.
public struct AgentQuota: Sendable, Equatable {
    /// Distinct agents in all (`max-agents`).
    public var maximumAgents: Int
    /// Of these, records of report-format peers, and apart from them records of agents that have not
    /// delivered a sample yet (`max-anonymous-agents` each): the fleet keeps the rest.
    public var maximumAnonymous: Int

    package init(maximumAgents: Int, maximumAnonymous: Int) {
        (self.maximumAgents, self.maximumAnonymous) = (maximumAgents, maximumAnonymous)
    }

    public static let unlimited = AgentQuota(maximumAgents: .max, maximumAnonymous: .max)
}

/// Why the store would not take a new agent.
public enum AgentRefusal: Error, Equatable, Sendable {
    /// `max-agents` distinct agents are known already.
    case tooManyAgents
    /// `max-anonymous-agents` records of this kind (report-format, or not yet delivering) are held already.
    case tooManyAnonymous
}

/// What became of a sample offered to the store.
public enum RecordOutcome: Equatable, Sendable {
    /// Kept: a sample the store did not hold.
    case new
    /// Already held (a resend after a lost ack): acknowledged again, not counted again.
    case duplicate
    /// Not kept: the connection it came on was replaced by a newer one of the same agent.
    case superseded
}
