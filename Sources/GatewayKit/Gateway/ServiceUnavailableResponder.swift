import NIOCore

/// Answers a connection beyond `max-http-connections` with a fixed 503 and closes it, without an
/// HTTP pipeline: NIOHTTP1's server pipeline may only answer a request it has read, and waiting for
/// one would let idle clients hold the very descriptors the cap protects.
///
/// It sits where the HTTP codec would (after TLS, when the port speaks https), writes its bytes as
/// soon as the connection is active, discards whatever the client sends, and closes once the bytes
/// are out, or after `deadline` for a client that never reads (or never finishes its TLS handshake).
final class ServiceUnavailableResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let response: ByteBuffer
    private let deadline: TimeAmount
    private var answered = false

    init(maximum: Int, deadline: TimeAmount = .seconds(5)) {
        let text = "too many HTTP connections (max-http-connections = \(maximum))\n"
        self.response = ByteBuffer(
            string: "HTTP/1.1 503 Service Unavailable\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: \(text.utf8.count)\r\n"
                + "Retry-After: 1\r\n"
                + "Connection: close\r\n\r\n"
                + text)
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The request is not read: its bytes are dropped, never accumulated.
    }

    private func answer(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in channel.close(promise: nil) }
    }
}
