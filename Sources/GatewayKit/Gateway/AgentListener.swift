import DaemonKit
import GatewayWAL
import Logging
import MonitorConfig
import MonitorModel
import MonitorProtocol
import NIOCore
import NIOPosix
import NIOSSL

/// The agent port: accepts TCP connections and runs one ``PeerSession`` per connection.
///
/// Every connection is a child task of ``serve()``, so closing the listener and cancelling the
/// task tears everything down in order (structured concurrency, as in SwiftNIO's examples).
struct AgentListener: Sendable {
    /// Carries one batch of JSON objects per read; ``PeerSession`` decodes and judges each.
    typealias Connection = NIOAsyncChannel<MessageBatch<[UInt8]>, ByteBuffer>

    let server: NIOAsyncChannel<(Connection, Transport), Never>
    let state: GatewayState

    /// The address actually bound (useful with port 0).
    var localAddress: SocketAddress? { server.channel.localAddress }

    static func bind(
        _ address: HostPort,
        state: GatewayState,
        group: any EventLoopGroup
    ) async throws -> AgentListener {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                // Read per connection, so that a reloaded agent-timeout applies to new agents. The
                // connection is closed only at twice the timeout: in between, the agent is shown
                // as late (connected, not on time) rather than gone.
                let idleTimeout = TimeAmount(state.configuration.agentTimeout * 2)
                let maximumMessageBytes = state.configuration.maxMessageBytes
                let tlsContext = state.tlsContext
                return channel.eventLoop.makeCompletedFuture {
                    let transport = Transport()
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            TLSSniffer(context: tlsContext, transport: transport))
                    }
                    // The idle timer sits behind the framing, so only what the decoder delivers (objects, or a
                    // message begun, which then has its own deadline) is progress: whitespace between objects is not.
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(JSONMessageDecoder(maximumObjectBytes: maximumMessageBytes)),
                        IdleStateHandler(readTimeout: idleTimeout),
                        CloseOnIdleHandler(),
                    ])
                    return (try Connection(wrappingChannelSynchronously: channel), transport)
                }
            }
        try await AcceptBackoff.shorten(on: server.channel)
        return AgentListener(server: server, state: state)
    }

    /// Stops accepting; connections already open go on until they end or the task is cancelled.
    func close() {
        server.channel.close(promise: nil)
    }

    func serve() async {
        await serveConnections(of: server, logger: state.logger, name: "agent") { connection, transport in
            await handle(connection, transport: transport)
        }
    }

    /// The closure a ``PeerSession`` calls for each new sample, when remote write is configured.
    private var forwardingSink: (@Sendable (Sample, String, Double) -> Void)? {
        guard let forwarder = state.forwarder else { return nil }
        return { sample, agent, now in forwarder.enqueue(sample, agent: agent, now: now) }
    }

    /// Counts and logs a sample the store did not keep as sent.
    private var sampleEventSink: @Sendable (SampleEvent, String) -> Void {
        { [state] event, agent in state.sampleEvent(event, agent: agent) }
    }

    /// How long a connection being closed with an error line is given to take it.
    private static let closeGrace = TimeAmount.milliseconds(250)

    /// Sends an error line and closes `channel`, from any thread: for deadlines and for closing a
    /// connection from outside its task (superseded, token revoked).
    private static func closeWithError(_ channel: any Channel, _ text: String) {
        let line = ProtocolCodec.encode(.error(reason: text))
        channel.writeAndFlush(channel.allocator.buffer(bytes: line)).whenComplete { _ in
            channel.close(promise: nil)
        }
        // A write that cannot complete must not keep the connection: one in the middle of a TLS handshake
        // (NIOSSL holds it until the handshake ends) or to a peer that reads nothing. Closed shortly
        // after in any case, so that hello-timeout bounds a stalled handshake too (audit attack2/05).
        channel.eventLoop.scheduleTask(in: closeGrace) { channel.close(promise: nil) }
    }

    private func handle(_ connection: Connection, transport: Transport) async {
        state.counters.connectionAccepted()
        let channel = connection.channel
        let remote = channel.remoteAddress.map(describe) ?? "unknown"
        let sourceAddress = channel.remoteAddress?.ipAddress ?? remote
        let configuration = state.configuration
        if let reason = state.limiter.admit(
            sourceAddress,
            maximumTotal: configuration.maxConnections,
            maximumPerAddress: configuration.maxConnectionsPerAddress
        ) {
            let text =
                reason == .tooManyConnections
                ? "the gateway has its maximum of \(configuration.maxConnections) connections (max-connections)"
                : "\(sourceAddress) has its maximum of \(configuration.maxConnectionsPerAddress) connections that have not said hello yet (max-connections-per-address)"
            state.refused(reason, text, remote: remote, agent: nil)
            try? await connection.executeThenClose { _, outbound in
                try await outbound.write(ByteBuffer(bytes: ProtocolCodec.encode(.error(reason: text))))
            }
            return
        }
        var identified = false
        defer { state.limiter.release(sourceAddress, identified: identified) }

        var session = PeerSession(
            store: state.store,
            remoteAddress: remote,
            allowLegacyAgents: configuration.allowLegacyAgents,
            maximumAgents: configuration.maxAgents,
            maximumAnonymousAgents: configuration.anonymousAgentQuota,
            tokens: configuration.tokens,
            requireTLS: state.tlsContext != nil,
            clockSkewTolerance: configuration.clockSkewTolerance,
            onNewSample: forwardingSink,
            onSampleEvent: sampleEventSink
        )
        let wal = state.wal
        let durable = wal != nil && configuration.acknowledge == .durable
        session.collectsRecords = wal != nil
        // The hello deadline runs on the channel's event loop, independent of whether the
        // peer sends anything at all: a peer trickling bytes that never form a hello is closed too.
        let helloDeadline = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.helloTimeout)) {
            [state] in
            let text = "no hello within \(renderDuration(configuration.helloTimeout))"
            state.refused(.helloTimeout, text, remote: remote, agent: nil)
            Self.closeWithError(channel, text)
        }
        // After the hello, every message must arrive whole within hello-timeout of its first byte: the
        // idle timer alone is reset by every byte, so a peer trickling one byte at a time would hold the
        // connection (and its buffer) forever.
        var messageDeadline: Scheduled<Void>?
        defer {
            helloDeadline.cancel()
            messageDeadline?.cancel()
            if let id = session.connection?.id { state.live.unregister(id) }
            if let agent = session.agentName {
                session.disconnect(now: state.clock.now())
                state.logConnection("agent disconnected", metadata: ["agent": "\(agent)", "remote": "\(remote)"])
            }
        }

        var pacing = TokenBucket(
            rate: Double(configuration.maxSamplesPerSecond),
            burst: Double(configuration.maxSamplesPerSecond),
            now: .now
        )
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await batch in inbound {
                    session.isTLS = transport.isTLS
                    for object in batch.messages {
                        let wasAnonymous = session.agentName == nil
                        let action = session.receive(object, now: state.clock.now())
                        // Registered before the welcome goes out, so that a token revoked meanwhile gets no welcome.
                        if wasAnonymous, let agent = session.agentName {
                            helloDeadline.cancel()
                            guard identify(agent, session: session, channel: channel, remote: remote) else {
                                let text = LiveConnections.revocation(of: agent)
                                try await refuse(
                                    .tokenRevoked, text, outbound: outbound, session: session, remote: remote)
                                return
                            }
                            if case .native = session.identity {
                                state.limiter.identified(sourceAddress)
                                identified = true
                            }
                        }
                        switch action {
                        case .none:
                            break
                        case .reply(let message):
                            // The welcome's last_seq must not promise more than the log holds on disk.
                            if durable, let wal { try await wal.waitDurable(upTo: wal.lastAppended) }
                            try await outbound.write(channel.allocator.buffer(bytes: ProtocolCodec.encode(message)))
                        case .refuse(let reason, let text):
                            try await log(session.takeNewRecords(), to: wal, durable: durable)
                            try await refuse(reason, text, outbound: outbound, session: session, remote: remote)
                            return
                        }
                    }
                    try await log(session.takeNewRecords(), to: wal, durable: durable)
                    if let error = batch.error {
                        try await refuse(.framing, "\(error)", outbound: outbound, session: session, remote: remote)
                        return
                    }
                    if let ack = session.takePendingAck() {
                        try await outbound.write(channel.allocator.buffer(bytes: ProtocolCodec.encode(ack)))
                    }
                    // A completed message ends its deadline; the next one, begun in the same read, gets its own.
                    if session.agentName != nil, !batch.messages.isEmpty || !batch.inMessage {
                        messageDeadline?.cancel()
                        messageDeadline = nil
                    }
                    // Over its rate, the connection waits before its next read: TCP slows the sender. That
                    // wait is the gateway's, not the peer's: no message deadline runs through it, and one
                    // begun before it starts afresh after it (audit attack2/04).
                    let wait = pacing.take(session.takeSampleCount(), now: .now)
                    if wait > .zero {
                        messageDeadline?.cancel()
                        messageDeadline = nil
                        try await Task.sleep(for: wait)
                    }
                    if session.agentName != nil {
                        if batch.inMessage, messageDeadline == nil {
                            messageDeadline = channel.eventLoop.scheduleTask(
                                in: TimeAmount(configuration.helloTimeout)
                            ) { [state, agent = session.agentName] in
                                let text =
                                    "a message not finished within \(renderDuration(configuration.helloTimeout)) of its first byte"
                                state.refused(.messageTimeout, text, remote: remote, agent: agent)
                                Self.closeWithError(channel, text)
                            }
                        }
                    }
                }
            }
        } catch let error as NIOSSLError {
            state.refused(.tlsHandshake, "TLS failed: \(error)", remote: remote, agent: session.agentName)
        } catch let error as BoringSSLError {
            state.refused(.tlsHandshake, "TLS failed: \(error)", remote: remote, agent: session.agentName)
        } catch is IdleTimeoutError {
            state.refused(
                .idleTimeout,
                "silent for \(renderDuration(configuration.agentTimeout * 2))",
                remote: remote,
                agent: session.agentName
            )
        } catch {
            // Resets and half-closed sockets are routine for agents; the disconnect is logged above.
            state.logger.debug("agent connection ended", metadata: ["remote": "\(remote)", "error": "\(error)"])
        }
    }

    /// Writes a batch's new native samples to the write-ahead log; with `acknowledge = durable`, returns
    /// only once they are as durable as `wal-fsync` asks, so that the ack sent next means what it says.
    private func log(_ records: [WALRecord], to wal: WriteAheadLog?, durable: Bool) async throws {
        guard let wal, !records.isEmpty else { return }
        do {
            let last = try wal.append(records)
            if durable { try await wal.waitDurable(upTo: last) }
        } catch {
            // The connection ends unacknowledged (the log has said why); the agent keeps its samples.
            if durable { state.store.forgetSequence(of: records[0].agent) }
            throw error
        }
    }

    /// The peer has just identified itself: log it, make the connection closable from outside (native
    /// agents: takeover, token revocation), and close the agent's older connection, which the newest one replaces.
    /// False when a reload revoked the token it presented after its hello was checked.
    private func identify(_ agent: String, session: PeerSession, channel: any Channel, remote: String) -> Bool {
        let dialect: String
        switch session.identity {
        case .legacy: dialect = "legacy"
        default: dialect = "native"
        }
        state.logConnection(
            "agent connected", metadata: ["agent": "\(agent)", "remote": "\(remote)", "dialect": "\(dialect)"])
        guard case .native = session.identity, let connection = session.connection else { return true }
        let registered = state.live.register(connection.id, agent: agent, token: session.presentedToken) {
            [state] reason, text in
            state.refused(reason, text, remote: remote, agent: agent)
            Self.closeWithError(channel, text)
        }
        if let older = connection.superseded {
            state.live.close(
                older, .superseded, "agent \(agent) connected again from \(remote): the newest connection wins")
        }
        return registered
    }

    private func refuse(
        _ reason: PeerErrorReason,
        _ text: String,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        session: PeerSession,
        remote: String
    ) async throws {
        state.refused(reason, text, remote: remote, agent: session.agentName)
        try await outbound.write(ByteBuffer(bytes: ProtocolCodec.encode(.error(reason: text))))
    }
}

/// "127.0.0.1:5555" or "[::1]:5555", without NIO's "[IPv4]" decoration.
func describe(_ address: SocketAddress) -> String {
    guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
    switch address {
    case .v6: return "[\(ip)]:\(port)"
    default: return "\(ip):\(port)"
    }
}
