import Logging
import NIOCore

/// How long a listener pauses accepting after `accept` failed for lack of descriptors or memory.
///
/// NIO pauses a full second; both ports share the descriptor table, so a flood on one port would
/// pause the other too. The descriptor budget (``DescriptorBudget``) keeps `accept` from running
/// out in the first place; this is the second line: a pause short enough that a scrape or a hello
/// waiting in the backlog is answered soon after descriptors come free.
enum AcceptBackoff {
    static let pause = TimeAmount.milliseconds(50)

    /// Replaces the server channel's default backoff handler with one pausing ``pause``, and ends
    /// accept errors there: NIO's handler passes them on, and on the HTTP port they ended the
    /// listener's stream, so one `EMFILE` refused every scrape from then on (audit 7, 05).
    static func shorten(on channel: any Channel, logger: Logger) async throws {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            // The name ServerBootstrap gives its own backoff handler.
            pipeline.removeHandler(name: "AcceptBackOffHandler", promise: nil)
            let backoff = AcceptBackoffHandler(backoffProvider: { _ in pause })
            try pipeline.addHandler(backoff, position: .first)
            try pipeline.addHandler(AcceptErrorLog(logger: logger), position: .after(backoff))
        }.get()
    }
}

/// Logs a listener's accept errors (at most one line a second, with how many came meanwhile) and
/// passes none on: the listener keeps accepting once the backoff's pause is over.
final class AcceptErrorLog: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let logger: Logger
    private var lastLogged: NIODeadline?
    private var suppressed = 0

    init(logger: Logger) {
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is IOError else { return context.fireErrorCaught(error) }
        let now = NIODeadline.now()
        if let lastLogged, now - lastLogged < .seconds(1) {
            suppressed += 1
            return
        }
        var metadata: Logger.Metadata = [
            "error": "\(error)", "listener": "\(context.channel.localAddress.map { "\($0)" } ?? "?")",
        ]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning("accepting a connection failed; accepting again after a pause", metadata: metadata)
        lastLogged = now
        suppressed = 0
    }
}
