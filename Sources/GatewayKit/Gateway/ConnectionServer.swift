import Logging
import NIOCore

/// Accepts connections on `server` and runs `handle` for each as a child task, until the
/// listener is closed or the task cancelled. The HTTP port is served this way, so that closing the
/// listener and cancelling its task tears down every connection in order (the agent port does the
/// same with ``OpenChannels``: its connections are channel handlers, not tasks).
func serveConnections<Connection: Sendable>(
    of server: NIOAsyncChannel<Connection, Never>,
    logger: Logger,
    name: String,
    handle: @escaping @Sendable (Connection) async -> Void
) async {
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
        logger.error("\(name) listener failed", metadata: ["error": "\(error)"])
    }
}
