import Logging
import NIOCore
import NIOPosix

/// The agent port: accepts TCP connections and runs one ``PeerSession`` per connection.
///
/// Every connection is a child task of ``serve()``, so closing the listener and cancelling the
/// task tears everything down in order (structured concurrency, as in SwiftNIO's examples).
struct AgentListener: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let server: NIOAsyncChannel<Connection, Never>
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
                // Read per connection, so that a reloaded agent-timeout applies to new agents.
                let idleTimeout = TimeAmount(state.configuration.agentTimeout)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: idleTimeout),
                        CloseOnIdleHandler(),
                    ])
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        return AgentListener(server: server, state: state)
    }

    /// Stops accepting; connections already open go on until they end or the task is cancelled.
    func close() {
        server.channel.close(promise: nil)
    }

    func serve() async {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await handle(connection) }
                    }
                }
            }
        } catch is CancellationError {
        } catch {
            state.logger.error("agent listener failed", metadata: ["error": "\(error)"])
        }
    }

    private func handle(_ connection: Connection) async {
        state.counters.connectionAccepted()
        let channel = connection.channel
        let remote = channel.remoteAddress.map(describe) ?? "unknown"
        let configuration = state.configuration
        var session = PeerSession(
            store: state.store,
            remoteAddress: remote,
            allowLegacyAgents: configuration.allowLegacyAgents,
            onNewSample: state.remoteWriter?.sampleSink
        )
        let counters = state.counters
        let logger = state.logger
        // The hello deadline runs on the channel's event loop, independent of whether the
        // peer sends anything at all: a peer trickling bytes that never form a hello is closed too.
        let helloDeadline = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.helloTimeout)) {
            counters.peerError(.helloTimeout)
            logger.notice(
                "refused peer: no hello within \(configuration.helloTimeout)",
                metadata: ["remote": "\(remote)", "reason": "\(PeerErrorReason.helloTimeout.rawValue)"]
            )
            let line = ProtocolCodec.encode(.error(reason: "no hello within \(configuration.helloTimeout)"))
            channel.writeAndFlush(channel.allocator.buffer(bytes: line)).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
        defer {
            helloDeadline.cancel()
            if let agent = session.agentName {
                session.disconnect(now: state.clock.now())
                logger.info("agent disconnected", metadata: ["agent": "\(agent)", "remote": "\(remote)"])
            }
        }

        do {
            try await connection.executeThenClose { inbound, outbound in
                var splitter = JSONObjectSplitter(maximumObjectBytes: configuration.maxMessageBytes)
                for try await buffer in inbound {
                    splitter.append(buffer.readableBytesView)
                    while true {
                        let object: [UInt8]
                        do {
                            guard let next = try splitter.nextObject() else { break }
                            object = next
                        } catch {
                            try await refuse(.framing, "\(error)", outbound: outbound, session: session, remote: remote)
                            return
                        }
                        let wasAnonymous = session.agentName == nil
                        switch session.receive(object, now: state.clock.now()) {
                        case .none:
                            break
                        case .reply(let message):
                            try await outbound.write(channel.allocator.buffer(bytes: ProtocolCodec.encode(message)))
                        case .refuse(let reason, let text):
                            try await refuse(reason, text, outbound: outbound, session: session, remote: remote)
                            return
                        }
                        if wasAnonymous, let agent = session.agentName {
                            helloDeadline.cancel()
                            logConnected(agent: agent, session: session, remote: remote)
                        }
                    }
                    if let ack = session.takePendingAck() {
                        try await outbound.write(channel.allocator.buffer(bytes: ProtocolCodec.encode(ack)))
                    }
                }
            }
        } catch let error as IdleTimeoutError {
            _ = error
            counters.peerError(.idleTimeout)
            logger.notice(
                "closed silent agent connection",
                metadata: ["remote": "\(remote)", "agent": "\(session.agentName ?? "-")"]
            )
        } catch {
            // Resets and half-closed sockets are routine for agents; the disconnect is logged above.
            logger.debug("agent connection ended", metadata: ["remote": "\(remote)", "error": "\(error)"])
        }
    }

    private func refuse(
        _ reason: PeerErrorReason,
        _ text: String,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        session: PeerSession,
        remote: String
    ) async throws {
        state.counters.peerError(reason)
        var metadata: Logger.Metadata = ["remote": "\(remote)", "reason": "\(reason.rawValue)"]
        if let agent = session.agentName { metadata["agent"] = "\(agent)" }
        state.logger.notice("refused peer: \(text)", metadata: metadata)
        let line = ProtocolCodec.encode(.error(reason: text))
        try await outbound.write(ByteBuffer(bytes: line))
    }

    private func logConnected(agent: String, session: PeerSession, remote: String) {
        let dialect: String
        switch session.identity {
        case .legacy: dialect = "legacy"
        default: dialect = "native"
        }
        state.logger.info(
            "agent connected",
            metadata: ["agent": "\(agent)", "remote": "\(remote)", "dialect": "\(dialect)"]
        )
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
