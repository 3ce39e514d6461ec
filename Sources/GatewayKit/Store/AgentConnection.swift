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
    /// resends only what the gateway lacks; `nil` when the session is new to the store (or none was announced).
    public let lastSequence: UInt64?
}
