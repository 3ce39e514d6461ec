import GatewayConfig
import GatewayStore
import MonitorConfig
import MonitorModel
import MonitorProtocol

/// What one peer on the agent port has said so far, and what the gateway answers.
///
/// Pure logic, free of NIO, so that every rule of the dialogue is unit-tested without sockets:
/// the connection handler feeds it each framed JSON object and carries out the returned action.
struct PeerSession {
    static let tlsRequiredText = "this gateway requires TLS for native agents (set tls = yes in agent.conf)"
    static let reportFormatRefusedText = "the report's format is disabled here (allow-legacy-agents = no)"

    enum Identity: Equatable {
        case anonymous
        case native(agent: String, session: String)
        case reportFormat(agent: String)
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
    /// The highest ack sent on this connection, so that acks never go backwards.
    private var highestAcknowledged: UInt64?
    /// The token the agent presented in its hello, so that a reload revoking it can close the connection.
    private(set) var presentedToken: String?
    /// Whether the agent's hello said it takes an ack of 0 as a keepalive (`acknowledge = forwarded`).
    private(set) var wantsKeepalive = false

    /// Whether new native samples are collected for the write-ahead log (see ``takeNewRecords()``).
    var collectsRecords = false
    private var newRecords: [WALRecord] = []

    /// Samples accepted since ``takeSampleCount()`` was last called: what the connection's pacing charges.
    private var samplesTaken = 0

    let store: AgentStore
    let remoteAddress: String
    let allowReportFormatAgents: Bool
    let quota: AgentQuota
    /// When set, a native agent must present the token written for its name.
    let tokens: AgentTokens?
    /// Whether native agents must come over TLS (the gateway has a certificate), and whether this one did.
    let requireTLS: Bool
    /// Known once the peer's first bytes have arrived (the transport is decided by them).
    var isTLS: Bool
    /// How far ahead of the gateway's clock a sample's `ts` may be; beyond it the sample is stamped with the
    /// time of arrival instead (or just after the agent's newest timestamp, if that is not earlier), so
    /// that one bad clock cannot hold up what the agent sends after it.
    let clockSkewTolerance: Double
    /// Called with every sample the store accepted as new (sample, agent, now) and not collected for
    /// the write-ahead log: remote write's feed (with a log, it reads the native samples from there).
    let onNewSample: (@Sendable (Sample, String, Double) -> Void)?
    /// Called for every sample not kept as sent (dropped, or its timestamp clamped), to count and log it.
    let onSampleEvent: (@Sendable (SampleEvent, String) -> Void)?

    init(
        store: AgentStore,
        remoteAddress: String,
        allowReportFormatAgents: Bool,
        maximumAgents: Int = .max,
        maximumAnonymousAgents: Int = .max,
        tokens: AgentTokens? = nil,
        requireTLS: Bool = false,
        isTLS: Bool = false,
        clockSkewTolerance: Duration = .seconds(60),
        onNewSample: (@Sendable (Sample, String, Double) -> Void)? = nil,
        onSampleEvent: (@Sendable (SampleEvent, String) -> Void)? = nil
    ) {
        self.store = store
        self.remoteAddress = remoteAddress
        self.allowReportFormatAgents = allowReportFormatAgents
        self.quota = AgentQuota(maximumAgents: maximumAgents, maximumAnonymous: maximumAnonymousAgents)
        self.tokens = tokens
        self.requireTLS = requireTLS
        self.isTLS = isTLS
        self.clockSkewTolerance = clockSkewTolerance.inSeconds
        self.onNewSample = onNewSample
        self.onSampleEvent = onSampleEvent
    }

    private func refusal(_ refusal: AgentRefusal, dialect: AgentDialect) -> Action {
        switch (refusal, dialect) {
        case (.tooManyAgents, _):
            .refuse(.tooManyAgents, "the gateway holds its maximum of \(quota.maximumAgents) agents (max-agents)")
        case (.tooManyAnonymous, .reportFormat):
            .refuse(
                .tooManyAnonymousAgents,
                "the gateway holds its maximum of \(quota.maximumAnonymous) report-format agents (max-anonymous-agents)"
            )
        case (.tooManyAnonymous, .native):
            .refuse(
                .tooManyAnonymousAgents,
                "the gateway holds its maximum of \(quota.maximumAnonymous) agents that have not delivered a sample "
                    + "yet (max-anonymous-agents)")
        }
    }

    /// The agent's label once the peer has identified itself.
    var agentName: String? {
        switch identity {
        case .anonymous: nil
        case .native(let agent, _), .reportFormat(let agent): agent
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
                    .tlsRequired, Self.tlsRequiredText)
            }
            if let tokens, !tokens.verify(agent: hello.agent, token: hello.token) {
                return .refuse(.unauthenticated, "agent \(hello.agent): missing or wrong token")
            }
            let connection: AgentConnection
            do {
                connection = try store.admit(
                    agent: hello.agent, session: hello.session, dialect: .native, remoteAddress: remoteAddress,
                    usesTLS: isTLS, quota: quota, now: now)
            } catch {
                return refusal(error, dialect: .native)
            }
            identity = .native(agent: hello.agent, session: hello.session)
            presentedToken = hello.token
            wantsKeepalive = hello.keepalive
            self.connection = connection
            return .reply(.welcome(protocolVersion: ProtocolCodec.version, lastSequence: connection.lastSequence))

        case (.anonymous, .native(.sample)):
            return .refuse(.invalidMessage, "a sample before the hello")

        case (.anonymous, .reportFormat(let sample)):
            guard allowReportFormatAgents else {
                return .refuse(.reportFormatRefused, Self.reportFormatRefusedText)
            }
            let agent = store.nextReportFormatName()
            do {
                connection = try store.admit(
                    agent: agent, session: nil, dialect: .reportFormat, remoteAddress: remoteAddress, quota: quota,
                    now: now)
            } catch {
                return refusal(error, dialect: .reportFormat)
            }
            identity = .reportFormat(agent: agent)
            return record(sample, agent: agent, session: nil, now: now)

        case (.native(let agent, let session), .native(.sample(let sample))):
            let action = record(sample, agent: agent, session: session, now: now)
            if action == .none { pendingAck = max(pendingAck ?? 0, sample.sequence) }
            return action

        case (.native, .native(.hello)):
            return .refuse(.invalidMessage, "a second hello on the same connection")

        case (.native, .reportFormat):
            return .refuse(.invalidMessage, "a report-format object after a native hello")

        case (.reportFormat(let agent), .reportFormat(let sample)):
            return record(sample, agent: agent, session: nil, now: now)

        case (.reportFormat, .native):
            return .refuse(.invalidMessage, "a native message from a peer speaking the report's format")
        }
    }

    /// Stores a sample and says whether the connection may go on: a connection whose agent has connected
    /// again elsewhere is closed, and what it sent is neither kept, forwarded nor acknowledged.
    private mutating func record(_ sample: Sample, agent: String, session: String?, now: Double) -> Action {
        var sample = sample
        if let timestamp = sample.timestamp, timestamp > now + clockSkewTolerance {
            // The arrival, or just after the agent's newest timestamp: never behind what was kept before.
            sample.timestamp = store.clampedTime(of: agent, now: now)
            onSampleEvent?(.clampedTimestamp, agent)
        }
        switch store.record(sample, agent: agent, session: session, connection: connection?.id, now: now) {
        case .new:
            samplesTaken += 1
            if collectsRecords, let session {
                // Forwarded from the log (remote write reads it), not from here.
                newRecords.append(WALRecord(agent: agent, session: session, arrival: now, sample: sample))
            } else {
                onNewSample?(sample, agent, now)
            }
        case .duplicate:
            samplesTaken += 1
            onSampleEvent?(.dropped(.duplicate), agent)
        case .superseded:
            onSampleEvent?(.dropped(.superseded), agent)
            pendingAck = nil
            return .refuse(
                .superseded, "agent \(agent) connected again on another connection: the newest connection wins")
        }
        return .none
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

    /// The native samples stored as new since the last call, for the write-ahead log; clears them.
    mutating func takeNewRecords() -> [WALRecord] {
        defer { newRecords.removeAll(keepingCapacity: true) }
        return newRecords
    }

    /// The ack to send after a batch of objects, if any; clears it.
    ///
    /// Acks are cumulative, so one never goes below an ack already sent: a sample numbered below
    /// the highest acknowledged (a replay, or a peer sending out of order) arriving in a later read
    /// cycle is kept or dropped as the store decides, but earns no ack of its own.
    mutating func takePendingAck() -> GatewayMessage? {
        defer { pendingAck = nil }
        return pendingAck.flatMap { takeAck(upTo: $0) }
    }

    /// The ack for samples up to `sequence` (what a read cycle held before a refused read), under the
    /// same rule as ``takePendingAck()``: nil when it would not go beyond an ack already sent.
    mutating func takeAck(upTo sequence: UInt64) -> GatewayMessage? {
        if let highestAcknowledged, sequence <= highestAcknowledged { return nil }
        highestAcknowledged = sequence
        return .ack(sequence: sequence)
    }
}
