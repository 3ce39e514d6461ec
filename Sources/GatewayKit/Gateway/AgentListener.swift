import DaemonKit
import MonitorConfig
import NIOCore
import NIOPosix

/// The agent port: accepts TCP connections and runs each as an ``AgentConnectionHandler`` on its
/// channel's event loop.
///
/// No task per connection: the handler answers where the bytes arrive. ``serve()`` stands in for
/// the connections (``OpenChannels``): it returns once the listener and every connection it
/// accepted have closed, and cancelling it closes them all, so that a graceful shutdown closes
/// the listener first and the connections after it.
struct AgentListener: Sendable {
    let server: any Channel
    let connections: OpenChannels
    let sweeper: DeadlineSweeper
    let state: GatewayState

    /// The address actually bound (useful with port 0).
    var localAddress: SocketAddress? { server.localAddress }

    static func bind(
        _ address: HostPort,
        state: GatewayState,
        group: any EventLoopGroup
    ) async throws -> AgentListener {
        let connections = OpenChannels()
        let sweeper = DeadlineSweeper()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            // Each connection keeps its receive buffer between reads (NIO's pooled receive buffer), at
            // the size of its first read's guess: NIO's default guess of 2 KiB is 20 MiB held for
            // 10,000 agents whose sample is a few hundred bytes. It still grows with what a read brings.
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            .childChannelInitializer { channel in
                // Read per connection, so that a reloaded configuration applies to new agents.
                let configuration = state.configuration
                let tlsContext = state.tlsContext
                return channel.eventLoop.makeCompletedFuture {
                    let transport = Transport()
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            TLSSniffer(context: tlsContext, transport: transport))
                    }
                    // The handler's silence deadline sits behind the framing, so only what the decoder delivers
                    // (objects, or a message begun, which then has its own deadline) is progress: whitespace
                    // between objects is not.
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(JSONMessageDecoder(maximumObjectBytes: configuration.maxMessageBytes)),
                        AgentConnectionHandler(
                            state: state, configuration: configuration, transport: transport,
                            remoteAddress: channel.remoteAddress, sweeper: sweeper),
                    ])
                    connections.insert(channel)
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
        try await AcceptBackoff.shorten(on: server, logger: state.logger)
        return AgentListener(server: server, connections: connections, sweeper: sweeper, state: state)
    }

    /// Stops accepting; connections already open go on until they end or ``serve()`` is cancelled.
    func close() {
        server.close(promise: nil)
    }

    func serve() async {
        await withTaskCancellationHandler {
            try? await server.closeFuture.get()
            await connections.allClosed()
            sweeper.stop()
        } onCancel: {
            server.close(promise: nil)
            connections.closeAll()
        }
    }
}
