import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import GatewayKit

/// Audit 7, 05: NIO's accept backoff handler passes `EMFILE` on, and on the HTTP port that ended the
/// listener's stream: every later scrape was refused while the process stayed up.
@Suite("Accept errors")
struct AcceptErrorLogTests {
    /// Sees what reaches the end of a listener's pipeline.
    final class ErrorRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        let errors = Mutex<[String]>([])

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors.withLock { $0.append("\(error)") }
        }
    }

    @Test("an accept error stops at the backoff: logged, not passed on, and the listener keeps accepting")
    func acceptErrorsEndAtTheBackoff() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        try await AcceptBackoff.shorten(on: server, logger: Logger(label: "test"))
        let recorder = ErrorRecorder()
        try await server.pipeline.addHandler(recorder)
        server.pipeline.fireErrorCaught(IOError(errnoCode: EMFILE, reason: "accept"))
        struct Other: Error {}
        server.pipeline.fireErrorCaught(Other())
        try await server.eventLoop.submit {}.get()
        #expect(recorder.errors.withLock { $0 } == ["Other()"], "only errors that are not accept errors go on")
        // Still accepting.
        let port = try #require(server.localAddress?.port)
        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        try await client.close()
        #expect(server.isActive)
    }
}
