public import MonitorModel

/// A message an agent sends in the native protocol.
public enum AgentMessage: Sendable, Equatable {
    /// The first message on a connection: who the agent is and which session it speaks for.
    case hello(Hello)
    /// One measurement, numbered within the session so the gateway can acknowledge and dedupe.
    case sample(Sample)
}

/// The agent's announcement, which replaces the report's connection-order numbering so that
/// a reconnecting agent continues its own series.
public struct Hello: Sendable, Equatable {
    /// The protocol version the agent speaks; the gateway refuses versions it does not know.
    public var protocolVersion: Int
    /// The `agent_number` label value: 1...64 characters of `A-Z a-z 0-9 . _ -`, never
    /// `agent_<digits>`, which is reserved for peers speaking the report's format.
    public var agent: String
    /// The agent's software version, for logs.
    public var agentVersion: String
    /// Random id chosen at agent start (8...64 hexadecimal digits, lower case after decoding);
    /// sequence numbers count from 1 within it, so a restarted agent never collides with the
    /// numbers its previous run used.
    public var session: String
    /// The agent's shared secret, when the gateway requires one (`tokens-file`). Sent only
    /// over TLS in a sound setup: on plain TCP anyone on the path can read it.
    public var token: String?
    /// Whether the agent takes an `ack` with `seq` 0 as the gateway's sign of life (`"keepalive":
    /// true`): a gateway that acknowledges only once forwarded (`acknowledge = forwarded`) sends one
    /// while acks wait for its receiver, so that the agent does not take the wait for a gateway that
    /// takes nothing. Sent only to agents that said so: older ones refuse `seq` 0.
    public var keepalive: Bool

    public init(
        protocolVersion: Int = ProtocolCodec.version,
        agent: String,
        agentVersion: String,
        session: String,
        token: String? = nil,
        keepalive: Bool = false
    ) {
        self.protocolVersion = protocolVersion
        self.agent = agent
        self.agentVersion = agentVersion
        self.session = session
        self.token = token
        self.keepalive = keepalive
    }
}

/// A message the gateway sends to an agent.
public enum GatewayMessage: Sendable, Equatable {
    /// Reply to `hello`. `lastSequence` is the highest sequence number the gateway already
    /// holds for this agent and session (`nil` when none), so the agent drops those and replays
    /// the rest of its buffer.
    case welcome(protocolVersion: Int, lastSequence: UInt64?)
    /// Cumulative acknowledgement: every sample of the session numbered `sequence` or lower is
    /// held by the gateway and may be forgotten by the agent. `sequence` 0 acknowledges nothing:
    /// a keepalive, sent only to agents whose hello said `"keepalive": true`.
    case ack(sequence: UInt64)
    /// The gateway refuses the connection and closes it after this message.
    case error(reason: String)
}

/// What an object received from a peer turned out to be; the first object decides the dialect.
public enum PeerMessage: Sendable, Equatable {
    /// A message of the native protocol.
    case native(AgentMessage)
    /// A sample in the report's format: sequence 0, no timestamp.
    case reportFormat(Sample)
}
