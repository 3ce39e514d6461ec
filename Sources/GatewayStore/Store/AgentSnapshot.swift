public import MonitorModel

/// A consistent, immutable picture of one agent, taken so that rendering `/metrics` needs no lock.
public struct AgentSnapshot: Sendable, Hashable {
    /// The `agent_number` label value.
    public var name: String
    /// The wire format of the most recent connection, so a status page can show which hosts still need upgrading.
    public var dialect: AgentDialect
    /// The peer address of the agent's most recent connection, for status pages and logs.
    public var remoteAddress: String
    /// Whether the agent's connection came over TLS.
    public var usesTLS: Bool = false
    /// Whether the agent's most recent connection is still open.
    public var connected: Bool
    /// Unix time at which the most recent connection announced itself.
    public var connectedSince: Double?
    /// Unix time of the newest sample (the agent's own timestamp, never later than its arrival); `nil` before any.
    public var lastSeen: Double?
    /// The sample with the highest sequence of the current session (for the report's format: the newest arrival).
    public var latest: Sample?
    /// Samples accepted from this agent, replayed ones included, duplicates excluded.
    public var samplesReceived: UInt64
    /// `monitord_agent_up`: connected and on time (see ``AgentStore`` for what "on time" means).
    public var up: Bool
    /// Whether ``latest`` is recent enough to be exported as the agent's current values.
    public var fresh: Bool
}
