package import NIOCore

/// Thrown into a connection's inbound stream when the peer has been silent too long.
package struct IdleTimeoutError: Error {}

/// Turns `IdleStateHandler`'s read-idle event into an error, which ends the connection's
/// inbound stream (NIOAsyncChannel does not surface user events otherwise).
package final class CloseOnIdleHandler: ChannelInboundHandler, Sendable {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer

    package init() {}

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.fireErrorCaught(IdleTimeoutError())
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
