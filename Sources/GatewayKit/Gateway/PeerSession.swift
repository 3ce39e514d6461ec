import MonitorConfig
import MonitorModel
import MonitorProtocol

/// What one peer on the agent port has said so far, and what the gateway answers.
///
/// Pure logic, free of NIO, so that every rule of the dialogue is unit-tested without sockets:
/// the connection handler feeds it each framed JSON object and carries out the returned action.
struct PeerSession {
    enum Identity: Equatable {
        case anonymous
        case native(agent: String, session: String)
        case legacy(agent: String)
    }

    enum Action: Equatable {
        /// Nothing to send now (a report-format sample, or a native sample whose ack is batched).
        case none
        /// Send this message and keep going (the native welcome).
        case reply(GatewayMessage)
        /// Send an error line with this reason and close the connection.
        case refuse(PeerErrorReason, String)
    }

    private(set) var identity = Identity.anonymous
    /// The store's handle on this connection, to report its end without disturbing a newer one.
    private(set) var connection: AgentConnection?
    /// Highest sequence to acknowledge once the current read is processed (acks are cumulative).
    private(set) var pendingAck: UInt64?

    /// Samples accepted since ``takeSampleCount()`` was last called: what the connection's pacing charges.
    private var samplesTaken = 0

    let store: AgentStore
    let remoteAddress: String
    let allowLegacyAgents: Bool
    let maximumAgents: Int
    /// When set, a native agent must present the token written for its name.
    let tokens: AgentTokens?
    /// Whether native agents must come over TLS (the gateway has a certificate), and whether this one did.
    let requireTLS: Bool
    /// Known once the peer's first bytes have arrived (the transport is decided by them).
    var isTLS: Bool
    /// Called with every sample the store accepted as new (sample, agent, now): remote write's feed.
    let onNewSample: (@Sendable (Sample, String, Double) -> Void)?

    init(
        store: AgentStore,
        remoteAddress: String,
        allowLegacyAgents: Bool,
        maximumAgents: Int = .max,
        tokens: AgentTokens? = nil,
        requireTLS: Bool = false,
        isTLS: Bool = false,
        onNewSample: (@Sendable (Sample, String, Double) -> Void)? = nil
    ) {
        self.store = store
        self.remoteAddress = remoteAddress
        self.allowLegacyAgents = allowLegacyAgents
        self.maximumAgents = maximumAgents
        self.tokens = tokens
        self.requireTLS = requireTLS
        self.isTLS = isTLS
        self.onNewSample = onNewSample
    }

    /// Whether one more agent fits. Checked before the store learns the name, so two simultaneous
    /// newcomers can overshoot by one each: the bound is on memory, and that slack is constant.
    private func admits(_ agent: String?) -> Bool {
        if let agent, store.isKnown(agent) { return true }
        return store.agentCount < maximumAgents
    }

    private var fullMessage: String {
        "the gateway holds its maximum of \(maximumAgents) agents (max-agents)"
    }

    /// The agent's label once the peer has identified itself.
    var agentName: String? {
        switch identity {
        case .anonymous: nil
        case .native(let agent, _), .legacy(let agent): agent
        }
    }

    mutating func receive(_ object: [UInt8], now: Double) -> Action {
        let message: PeerMessage
        do {
            message = try ProtocolCodec.decodePeerMessage(object)
        } catch {
            return .refuse(.invalidMessage, error.reason)
        }
        switch (identity, message) {
        case (.anonymous, .native(.hello(let hello))):
            // The codec has refused every protocol version but ours.
            guard !requireTLS || isTLS else {
                return .refuse(
                    .tlsRequired, "this gateway requires TLS for native agents (set tls = yes in agent.conf)")
            }
            if let tokens, !tokens.verify(agent: hello.agent, token: hello.token) {
                return .refuse(.unauthenticated, "agent \(hello.agent): missing or wrong token")
            }
            guard admits(hello.agent) else { return .refuse(.tooManyAgents, fullMessage) }
            identity = .native(agent: hello.agent, session: hello.session)
            let connection = store.connected(
                agent: hello.agent,
                session: hello.session,
                dialect: .native,
                remoteAddress: remoteAddress,
                usesTLS: isTLS,
                now: now
            )
            self.connection = connection
            return .reply(.welcome(protocolVersion: ProtocolCodec.version, lastSequence: connection.lastSequence))

        case (.anonymous, .native(.sample)):
            return .refuse(.invalidMessage, "a sample before the hello")

        case (.anonymous, .legacy(let sample)):
            guard allowLegacyAgents else {
                return .refuse(.legacyRefused, "the report's format is disabled here (allow-legacy-agents = no)")
            }
            guard admits(nil) else { return .refuse(.tooManyAgents, fullMessage) }
            let agent = store.nextLegacyName()
            identity = .legacy(agent: agent)
            connection = store.connected(
                agent: agent,
                session: nil,
                dialect: .legacy,
                remoteAddress: remoteAddress,
                now: now
            )
            record(sample, agent: agent, session: nil, now: now)
            return .none

        case (.native(let agent, let session), .native(.sample(let sample))):
            record(sample, agent: agent, session: session, now: now)
            pendingAck = max(pendingAck ?? 0, sample.sequence)
            return .none

        case (.native, .native(.hello)):
            return .refuse(.invalidMessage, "a second hello on the same connection")

        case (.native, .legacy):
            return .refuse(.invalidMessage, "a report-format object after a native hello")

        case (.legacy(let agent), .legacy(let sample)):
            record(sample, agent: agent, session: nil, now: now)
            return .none

        case (.legacy, .native):
            return .refuse(.invalidMessage, "a native message from a peer speaking the report's format")
        }
    }

    private mutating func record(_ sample: Sample, agent: String, session: String?, now: Double) {
        samplesTaken += 1
        if store.record(sample, agent: agent, session: session, now: now) {
            onNewSample?(sample, agent, now)
        }
    }

    /// Tells the store the connection ended (once; later calls do nothing).
    mutating func disconnect(now: Double) {
        guard let connection, let agent = agentName else { return }
        store.disconnected(agent: agent, connection: connection.id, now: now)
        self.connection = nil
    }

    /// The number of samples accepted since the last call; resets it.
    mutating func takeSampleCount() -> Int {
        defer { samplesTaken = 0 }
        return samplesTaken
    }

    /// The ack to send after a batch of objects, if any; clears it.
    mutating func takePendingAck() -> GatewayMessage? {
        defer { pendingAck = nil }
        return pendingAck.map { .ack(sequence: $0) }
    }
}
