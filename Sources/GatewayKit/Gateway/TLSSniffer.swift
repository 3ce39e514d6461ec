import NIOCore
import NIOSSL
import Synchronization

/// How a connection on the agent port turned out to talk: decided by its first byte.
final class Transport: Sendable {
    private let tls = Atomic<Bool>(false)
    var isTLS: Bool { tls.load(ordering: .acquiring) }
    fileprivate func markTLS() { tls.store(true, ordering: .releasing) }
}

/// Looks at the first byte a peer sends: a TLS handshake record (0x16) gets a TLS handler put
/// in front of the protocol; anything else stays plain TCP, which the report's agents speak.
/// One port serves both, so the report's agents keep working next to TLS ones.
final class TLSSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let handshakeRecord: UInt8 = 0x16
    private let context: NIOSSLContext
    private let transport: Transport

    init(context: NIOSSLContext, transport: Transport) {
        self.context = context
        self.transport = transport
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if buffer.readableBytesView.first == Self.handshakeRecord {
            do {
                try context.pipeline.syncOperations.addHandler(
                    NIOSSLServerHandler(context: self.context), position: .after(self))
                transport.markTLS()
            } catch {
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
