import NIOCore

/// How long a listener pauses accepting after `accept` failed for lack of descriptors or memory.
///
/// NIO pauses a full second; both ports share the descriptor table, so a flood on one port would
/// pause the other too. The descriptor budget (``DescriptorBudget``) keeps `accept` from running
/// out in the first place; this is the second line: a pause short enough that a scrape or a hello
/// waiting in the backlog is answered soon after descriptors come free.
enum AcceptBackoff {
    static let pause = TimeAmount.milliseconds(50)

    /// Replaces the server channel's default backoff handler with one pausing ``pause``.
    static func shorten(on channel: any Channel) async throws {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            // The name ServerBootstrap gives its own backoff handler.
            pipeline.removeHandler(name: "AcceptBackOffHandler", promise: nil)
            try pipeline.addHandler(AcceptBackoffHandler(backoffProvider: { _ in pause }), position: .first)
        }.get()
    }
}
