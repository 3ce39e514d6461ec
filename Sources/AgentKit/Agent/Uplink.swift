import DaemonKit
import Logging
import MonitorConfig
import MonitorModel
import MonitorProtocol
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The agent's side of the wire: finds a reachable gateway, says hello, replays what is
/// buffered, streams new samples and forgets what the gateway acknowledges.
struct Uplink: Sendable {
    /// Carries the gateway's messages, decoded in the pipeline.
    typealias Connection = NIOAsyncChannel<MessageBatch<GatewayMessage>, ByteBuffer>

    let state: AgentState
    let executor: EventLoopExecutor
    let logger: Logger
    let hostName: String

    /// Samples written per batch: large enough to replay a day's buffer quickly, small enough
    /// that acks keep flowing while it happens.
    private static let batchSize = 512
    private static let welcomeTimeout = TimeAmount.seconds(10)
    /// The gateway's messages are a few dozen bytes; anything this long is not one.
    private static let maximumGatewayMessageBytes = 64 * 1024

    func run() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            let configuration = state.configuration
            var failures: [String] = []
            for server in configuration.servers {
                guard !Task.isCancelled else { return }
                state.shared.withLock { $0.connecting = true }
                do {
                    let connection = try await connect(to: server)
                    // Only a gateway that took a sample resets the backoff: one that welcomes and
                    // then refuses (or lies) is retried ever more slowly, like an unreachable one.
                    let delivered = try await converse(over: connection, with: server)
                    if delivered { backoff.reset() }
                    break
                } catch is CancellationError {
                    state.shared.withLock { $0.connecting = false }
                    return
                } catch {
                    failures.append("\(server): \(error)")
                }
                state.shared.withLock { $0.connecting = false }
            }
            state.shared.withLock { $0.connecting = false }
            let delay = backoff.next()
            if failures.count == configuration.servers.count {
                logger.warning(
                    "cannot reach any server, retrying in \(formatSeconds(delay))",
                    metadata: ["servers": "\(failures.joined(separator: "; "))", "buffered": "\(state.bufferedCount)"]
                )
            }
            state.shared.withLock { $0.connectedServer = nil }
            do {
                try await sleep(delay)
            } catch {
                return
            }
        }
    }

    /// Sleeps, but wakes early when a reload asks for a new connection.
    private func sleep(_ delay: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: delay)
        while ContinuousClock.now < deadline {
            // A reload, or a stopping agent that wants one more try at delivering its buffer.
            let reconnect = state.shared.withLock { shared in
                defer { shared.reconnectRequested = false }
                return shared.reconnectRequested
            }
            if reconnect { return }
            try await executor.sleep(for: min(.milliseconds(250), deadline - ContinuousClock.now))
        }
    }

    private func connect(to server: HostPort) async throws -> Connection {
        let (tlsContext, serverName, interval) = state.shared.withLock { shared in
            (shared.tlsContext, shared.configuration.tlsServerName ?? server.host, shared.configuration.interval)
        }
        // The gateway acks every sample, so a connection that has been silent for a few intervals
        // is dead (a partition, a frozen gateway) even if TCP has not noticed: give it up.
        let silence = TimeAmount(max(interval * 3, .seconds(2)))
        // SNI carries names only; for an address, the certificate is checked against the address.
        let sniName = (try? SocketAddress(ipAddress: serverName, port: 0)) == nil ? serverName : nil
        // On the agent's own loop: the connection's reads and writes then need no thread hop.
        return try await ClientBootstrap(group: executor.eventLoop)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: server.host, port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tlsContext, serverHostname: sniName))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: silence), CloseOnIdleHandler(),
                        ByteToMessageHandler(
                            JSONMessageDecoder(
                                maximumObjectBytes: Self.maximumGatewayMessageBytes,
                                decode: ProtocolCodec.decodeGatewayMessage)),
                    ])
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Runs one connection to its end. Returns whether the gateway acknowledged a sample on it (a
    /// working session, as opposed to a port that accepted and hung up, or a gateway that welcomes
    /// and then refuses). Throws when it ends before a welcome.
    private func converse(over connection: Connection, with server: HostPort) async throws -> Bool {
        let channel = connection.channel
        let configuration = state.configuration
        let name = configuration.resolvedName(hostName: hostName)
        // What this connection confirms belongs to the session its hello announced (the agent may start
        // a new one meanwhile, at the spool's numbering ceiling).
        let session = state.session
        state.shared.withLock { shared in
            shared.channel = channel
            shared.conversation = GatewayConversation(tailAllowance: shared.tailAllowance)
        }
        defer {
            state.shared.withLock { shared in
                shared.channel = nil
                shared.conversation = nil
            }
        }

        var welcomed = false
        let delivered = Synchronization.Atomic<Bool>(false)
        var ending = "closed by the server"
        do {
            try await connection.executeThenClose { inbound, outbound in
                let hello = Hello(
                    protocolVersion: ProtocolCodec.version,
                    agent: name,
                    agentVersion: MonitorVersion.current,
                    session: session,
                    token: configuration.token
                )
                try await outbound.write(ByteBuffer(bytes: ProtocolCodec.encode(.hello(hello))))
                // A gateway that accepts but never answers is given up on, like a silent agent is.
                let deadline = channel.eventLoop.scheduleTask(in: Self.welcomeTimeout) {
                    channel.close(promise: nil)
                }
                var messages = MessageReader(inbound)
                guard let first = try await messages.next() else {
                    throw UplinkError.closedBeforeWelcome
                }
                deadline.cancel()
                let resumeAfter: UInt64
                switch judge(first) {
                case .welcomed(let acknowledged, let numberAfter):
                    // The lost tail is settled by the first welcome after the start: from then on this
                    // agent's own numbering is the truth, and a later welcome beyond it is a lie.
                    state.shared.withLock { $0.tailAllowance = 0 }
                    resumeAfter = acknowledged
                    state.acknowledge(upTo: acknowledged, numberAfter: numberAfter, session: session)
                    if let numberAfter {
                        logger.warning(
                            "the gateway holds sequence numbers up to \(numberAfter), beyond this agent's (its spool lost its tail): numbering on from there"
                        )
                    }
                case .refused(let reason):
                    throw UplinkError.refused(reason)
                case .protocolError(let reason):
                    throw UplinkError.protocolError(reason)
                case .acknowledged:
                    // The conversation never acknowledges before a welcome.
                    throw UplinkError.protocolError("an ack instead of a welcome")
                }
                welcomed = true
                // On a fallback server, leave after failback-after to try the first one again;
                // the session and its numbering go along, so the move costs no sample.
                if server != configuration.servers.first {
                    let failback = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.failbackAfter)) {
                        [logger] in
                        logger.notice("failing back: trying \(configuration.servers[0]) again")
                        channel.close(promise: nil)
                    }
                    channel.closeFuture.whenComplete { _ in failback.cancel() }
                }
                state.shared.withLock { shared in
                    shared.connectedServer = server
                    shared.connecting = false
                }
                logger.notice(
                    "connected to \(server) as \(name)",
                    metadata: ["server": "\(server)", "agent": "\(name)", "buffered": "\(state.bufferedCount)"]
                )

                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await writeSamples(to: outbound, after: resumeAfter) }
                    while let message = try await messages.next() {
                        switch judge(message) {
                        case .acknowledged(let sequence):
                            state.acknowledge(upTo: sequence, session: session)
                            delivered.store(true, ordering: .relaxed)
                        case .refused(let reason):
                            throw UplinkError.refused(reason)
                        case .protocolError(let reason):
                            throw UplinkError.protocolError(reason)
                        case .welcomed:
                            throw UplinkError.protocolError("a second welcome on the same connection")
                        }
                    }
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if !welcomed { throw error }
            ending = "\(error)"
        }
        if welcomed, !Task.isCancelled {
            logger.warning("lost connection to \(server): \(ending)", metadata: ["buffered": "\(state.bufferedCount)"])
        }
        return delivered.load(ordering: .relaxed)
    }

    /// The conversation's verdict on a message from the gateway.
    private func judge(_ message: GatewayMessage) -> GatewayConversation.Verdict {
        state.shared.withLock { shared in
            guard var conversation = shared.conversation else {
                return .protocolError("message outside a conversation")
            }
            defer { shared.conversation = conversation }
            return conversation.receive(message, highestNumbered: shared.highestNumbered)
        }
    }

    /// Writes everything buffered after `sequence`, then each new sample as it is taken.
    private func writeSamples(to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, after sequence: UInt64)
        async throws
    {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.shared.withLock { $0.wakeWriter = wake }
        defer { state.shared.withLock { $0.wakeWriter = nil } }
        var wakeIterator = wakes.makeAsyncIterator()
        var sent = sequence
        var line = ByteBuffer()
        while !Task.isCancelled {
            let batch = state.samples(after: sent, limit: Self.batchSize)
            guard let last = batch.last else {
                guard await wakeIterator.next() != nil else { return }
                continue
            }
            line.clear()
            for sample in batch {
                line.writeBytes(ProtocolCodec.encode(.sample(sample)))
            }
            // Before the write: the gateway may ack these as soon as they leave.
            state.shared.withLock { $0.conversation?.willSend(upTo: last.sequence) }
            try await outbound.write(line)
            sent = last.sequence
        }
    }
}

enum UplinkError: Error, CustomStringConvertible {
    case closedBeforeWelcome
    case refused(String)
    /// The gateway said something the agent cannot believe (see ``GatewayConversation``).
    case protocolError(String)

    var description: String {
        switch self {
        case .closedBeforeWelcome: "the server closed the connection before its welcome"
        case .refused(let reason): "refused by the server: \(reason)"
        case .protocolError(let reason): "protocol error by the server: \(reason); connection closed"
        }
    }
}

/// Exponential backoff with jitter, capped: 0.5 s, 1 s, 2 s, 4 s, 4 s, ..., each drawn from
/// [d/2, d] so that a fleet of agents does not reconnect in lockstep after a gateway restart.
/// The cap keeps delivery within about 5 s of a gateway's return after any outage; it is low
/// because an attempt costs a gateway little (a refused connect, or a TLS handshake), and the
/// jitter spreads a fleet's attempts over 2 s.
struct Backoff {
    static let initial = 0.5
    static let cap = 4.0
    private var attempt = 0

    mutating func reset() { attempt = 0 }

    mutating func next() -> Duration {
        let ceiling = min(Self.cap, Self.initial * Double(1 << min(attempt, 16)))
        attempt += 1
        return .milliseconds(Int64(Double.random(in: ceiling / 2...ceiling) * 1000))
    }
}

func formatSeconds(_ duration: Duration) -> String {
    "\((duration.inSeconds * 10).rounded() / 10) s"
}
