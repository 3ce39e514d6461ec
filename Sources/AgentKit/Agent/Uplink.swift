import DaemonKit
import Logging
import MonitorConfig
import MonitorModel
import MonitorProtocol
import MonitorSystem
import NIOCore
import NIOPosix
import NIOSSL

/// The agent's side of the wire: finds a reachable gateway and keeps a connection to it, with
/// backoff between attempts and failover along the configured servers. What happens on a
/// connection (hello, replay, samples, acks) is ``UplinkHandler``'s, on the agent's event loop;
/// this loop only learns how each connection ended.
struct Uplink: Sendable {
    let state: AgentState
    let executor: EventLoopExecutor
    let logger: Logger
    let hostName: String

    /// The gateway's messages are a few dozen bytes; anything this long is not one.
    private static let maximumGatewayMessageBytes = 64 * 1024

    func run() async {
        var backoff = Backoff()
        var failureLog = ServerFailureLog()
        while !Task.isCancelled {
            let configuration = state.configuration
            var failures: [String] = []
            for server in configuration.servers {
                guard !Task.isCancelled else { return }
                state.shared.withLock { $0.connecting = true }
                do {
                    // Only a gateway that took a sample counts as reached: it resets the backoff and
                    // the next round starts again from the first server. One that welcomes and then
                    // refuses, never acknowledges or only sends blanks has failed like an unreachable
                    // one: the agent moves on to the next server (a full disk on the first gateway
                    // must not keep a fleet from a healthy second one) and backs off.
                    // So has one that stops acknowledging anything new (UplinkError.acknowledgesNothingNew).
                    if try await converse(
                        with: server, configuration: configuration,
                        announce: !failureLog.failsAfterWelcome(server))
                    {
                        backoff.reset()
                        break
                    }
                    failures.append("\(server): welcomed, but took no sample")
                    log(server, failed: "welcomed, but took no sample", kind: "took no sample", in: &failureLog)
                } catch is CancellationError {
                    state.shared.withLock { $0.connecting = false }
                    return
                } catch {
                    let reason = NetworkErrorText.describe(error)
                    failures.append("\(server): \(reason)")
                    log(server, failed: reason, kind: UplinkError.kind(of: error), in: &failureLog)
                }
                state.shared.withLock { $0.connecting = false }
            }
            state.shared.withLock { $0.connecting = false }
            let delay = backoff.next()
            // Said once per outage and again after 10 minutes at the soonest, as each server's failure
            // is: a round every few seconds for an hour is not a thousand warnings (audit 13, F3).
            if failures.count == configuration.servers.count, let first = configuration.servers.first {
                let (log, unlogged) = failureLog.note(first, kind: "no server takes samples")
                if log {
                    var metadata: Logger.Metadata = [
                        "servers": "\(failures.joined(separator: "; "))", "buffered": "\(state.bufferedCount)",
                    ]
                    if unlogged > 0 { metadata["same failures not logged"] = "\(unlogged)" }
                    logger.warning(
                        "cannot reach any server that takes samples, retrying in \(delay.formattedSeconds)",
                        metadata: metadata)
                }
            }
            state.shared.withLock { $0.connectedServer = nil }
            // What the failed round touched (a TLS handshake, a flooder's reads, an outage's code)
            // goes back before the wait: an agent cycling on a gateway that fails it, or waiting out
            // an outage, stays at its idle size instead of growing with each round (audit 18, F1,
            // F4: 8.0-14.2 MB). The next attempt faults back what it runs, about a millisecond.
            if failures.count == configuration.servers.count {
                let advised = ResidentMemory.releaseUnusedPages()
                logger.debug(
                    "pages of code that ran once given back before the next round",
                    metadata: ["advised": "\(advised >> 10) KiB"])
            }
            do {
                try await sleep(delay)
            } catch {
                return
            }
        }
    }

    /// Logs a server's failure, unless the same failure of the same server was logged lately.
    private func log(_ server: HostPort, failed reason: String, kind: String, in failureLog: inout ServerFailureLog) {
        let (log, unlogged) = failureLog.note(server, kind: kind)
        guard log else { return }
        logger.warning(
            "server \(server) failed: \(reason)",
            metadata: unlogged > 0 ? ["same failures not logged": "\(unlogged)"] : [:]
        )
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

    /// Connects to `server` and waits for the connection to end. Returns whether the gateway
    /// acknowledged a sample on it; throws when it ended before a welcome.
    /// - Parameter announce: whether a welcome is logged at notice (else at debug: the server keeps
    ///   failing after its welcomes, and each round's connection is no news).
    private func converse(with server: HostPort, configuration: AgentConfiguration, announce: Bool) async throws
        -> Bool
    {
        let (tlsContext, serverName, interval) = state.shared.withLock { shared in
            (shared.tlsContext, shared.configuration.tlsServerName ?? server.host, shared.configuration.interval)
        }
        // The gateway acks every sample, so a connection that has been silent for a few intervals
        // is dead (a partition, a frozen gateway) even if TCP has not noticed: give it up.
        // The same deadline holds for acknowledgements: samples sent and none of them acknowledged
        // for that long (only stale acks repeated, say) is a gateway that takes nothing, unless
        // it says it is waiting for its receiver (acknowledge = forwarded: a keepalive, ack 0).
        let silence = TimeAmount(max(interval * 3, .seconds(2)))
        // SNI carries names only; for an address, the certificate is checked against the address.
        let sniName = (try? SocketAddress(ipAddress: serverName, port: 0)) == nil ? serverName : nil
        let hello = Hello(
            protocolVersion: ProtocolCodec.version,
            agent: configuration.resolvedName(hostName: hostName),
            agentVersion: MonitorVersion.current,
            session: state.session,
            token: configuration.token,
            keepalive: true
        )
        let outcome = executor.eventLoop.makePromise(of: UplinkHandler.Outcome.self)
        let (state, logger) = (state, logger)
        let channel: any Channel
        do {
            // On the agent's own loop: the connection's reads and writes then need no thread hop.
            let bootstrap = ClientBootstrap(group: executor.eventLoop)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.so_keepalive), value: 1)
                // Urgent (out-of-band) bytes arrive with the rest, where the framing refuses them:
                // kept apart, each woke the agent and no read ever saw it (audit 20, F2).
                .channelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_OOBINLINE)), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tlsContext, serverHostname: sniName))
                        }
                        // The silence deadline sits behind the decoder: only whole messages are
                        // signs of life, so a gateway sending blanks cannot hold the agent for ever.
                        try channel.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(
                                JSONMessageDecoder(
                                    maximumObjectBytes: Self.maximumGatewayMessageBytes,
                                    decode: ProtocolCodec.decodeGatewayMessage)),
                            IdleStateHandler(readTimeout: silence), CloseOnIdleHandler(),
                            UplinkHandler(
                                state: state, logger: logger, server: server, hello: hello,
                                configuration: configuration, progressDeadline: silence, announce: announce,
                                outcome: outcome),
                        ])
                    }
                }
            // An address needs no resolver: NIO runs getaddrinfo on a Dispatch queue, whose
            // threads would then stay for the agent's life, one of them waking every second.
            if let address = try? SocketAddress(ipAddress: server.host, port: server.port) {
                channel = try await bootstrap.connect(to: address).get()
            } else {
                channel = try await bootstrap.connect(host: server.host, port: server.port).get()
            }
        } catch {
            // The handler may never have been added; a promise must not be left unfulfilled.
            outcome.fail(error)
            throw error
        }
        let ended = try await withTaskCancellationHandler {
            try await outcome.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
        if Task.isCancelled { throw CancellationError() }
        guard ended.welcomed else { throw ended.error ?? UplinkError.closedBeforeWelcome }
        // A gateway that stopped taking samples has failed, whatever it took before: the agent
        // moves on to the next server rather than start again from this one.
        // So has one that floods the agent or says what cannot be believed: whatever it acknowledged,
        // coming straight back to it would be a reconnect a second and a warning each (audit 18, F3).
        if let failed = ended.error as? UplinkError {
            switch failed {
            case .acknowledgesNothingNew, .flooding, .protocolError: throw failed
            case .closedBeforeWelcome, .refused, .failingBack: break
            }
        }
        if let left = ended.error as? UplinkError, case .failingBack = left { return ended.delivered }
        let ending = ended.error.map { NetworkErrorText.describe($0) } ?? "closed by the server"
        logger.warning("lost connection to \(server): \(ending)", metadata: ["buffered": "\(state.bufferedCount)"])
        return ended.delivered
    }
}

enum UplinkError: Error, CustomStringConvertible {
    case closedBeforeWelcome
    case refused(String)
    /// The gateway said something the agent cannot believe (see ``GatewayConversation``).
    case protocolError(String)
    /// Samples were outstanding and no ack moved the acknowledged sequence on for `deadline`.
    case acknowledgesNothingNew(sent: UInt64, acknowledged: UInt64, deadline: Duration)
    /// The agent left a fallback server to try the first one again (failback-after).
    case failingBack
    /// The gateway woke the agent far more often than any work needs (see ``UplinkHandler``).
    case flooding(String)

    var description: String {
        switch self {
        case .closedBeforeWelcome: "the server closed the connection before its welcome"
        case .refused(let reason): "refused by the server: \(reason)"
        case .protocolError(let reason): "protocol error by the server: \(reason); connection closed"
        case .acknowledgesNothingNew(let sent, let acknowledged, let deadline):
            "the server acknowledges nothing new: samples up to \(sent) sent, acknowledged only up to \(acknowledged) for \(deadline.formattedSeconds); connection closed"
        case .failingBack: "left to fail back to the first server"
        case .flooding(let what): "the server floods the connection with \(what); connection closed"
        }
    }

    /// What kind of failure `error` is, for ``ServerFailureLog``: the case of an `UplinkError`,
    /// the type of any other error (a refused connection, a TLS failure); never a peer's text.
    static func kind(of error: any Error) -> String {
        guard let error = error as? UplinkError else { return "\(type(of: error))" }
        return switch error {
        case .closedBeforeWelcome: "closed before welcome"
        case .refused: "refused"
        case .protocolError: "protocol error"
        case .acknowledgesNothingNew: "acknowledges nothing new"
        case .failingBack: "failing back"
        case .flooding: "flooding"
        }
    }
}
