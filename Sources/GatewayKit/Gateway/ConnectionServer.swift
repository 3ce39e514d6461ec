import Logging
import NIOCore

extension NIOAsyncChannel where Outbound == Never, Inbound: Sendable {
    /// Accepts connections on this listener and runs `handle` for each as a child task, until the
    /// listener is closed or the task cancelled. The HTTP port is served this way, so that closing the
    /// listener and cancelling its task tears down every connection in order (the agent port does the
    /// same with ``OpenChannels``: its connections are channel handlers, not tasks).
    func serveConnections(
        logger: Logger,
        name: String,
        handle: @escaping @Sendable (Inbound) async -> Void
    ) async {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await executeThenClose { inbound in
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
}
