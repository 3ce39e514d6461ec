import CSnappy
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwiftProtobuf
import Synchronization

@testable import MonitorRemoteWrite

/// A real HTTP/1.1 server on 127.0.0.1 that records every request and answers with the next status
/// of its script (then 204): a remote-write receiver whose behaviour the test decides.
final class ScriptedReceiver: Sendable {
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8]
    }

    private let recorded = Mutex<[Request]>([])
    private let script: Mutex<[Int]>
    /// Decides by content before the script: a body it returns true for is answered 400, as a
    /// receiver refuses a request that holds one sample it will not take.
    private let refuses: (@Sendable (Prometheus_WriteRequest) -> Bool)?
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    let port: Int

    var requests: [Request] { recorded.withLock { $0 } }

    private init(script: [Int], port: Int, refuses: (@Sendable (Prometheus_WriteRequest) -> Bool)?) {
        self.script = Mutex(script)
        self.refuses = refuses
        self.port = port
    }

    static func start(script: [Int], refuses: (@Sendable (Prometheus_WriteRequest) -> Bool)? = nil) async throws
        -> ScriptedReceiver
    {
        let box = Mutex<ScriptedReceiver?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(owner: { box.withLock { $0 } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = ScriptedReceiver(
            script: script, port: channel.localAddress?.port ?? 0, refuses: refuses)
        receiver.channel.withLock { $0 = channel }
        box.withLock { $0 = receiver }
        return receiver
    }

    fileprivate func answer(_ request: Request) -> Int {
        recorded.withLock { $0.append(request) }
        if let refuses, let decoded = try? decodeBody(request.body), refuses(decoded) { return 400 }
        return script.withLock { $0.isEmpty ? 204 : $0.removeFirst() }
    }

    deinit {
        channel.withLock { $0?.close(promise: nil) }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let owner: @Sendable () -> ScriptedReceiver?
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(owner: @escaping @Sendable () -> ScriptedReceiver?) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body(let buffer): body += buffer.readableBytesView
            case .end:
                guard let head, let owner = owner() else { return }
                let status = owner.answer(Request(head: head, body: body))
                let text = status / 100 == 2 ? "" : "scripted \(status)"
                var headers = HTTPHeaders([("Content-Length", "\(text.utf8.count)"), ("Connection", "close")])
                headers.add(name: "Content-Type", value: "text/plain")
                context.write(
                    wrapOutboundOut(
                        .head(
                            HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers)
                        )),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
                self.head = nil
                body = []
            }
        }
    }
}

/// Un-snappies and decodes a remote-write body, independently of the code under test.
func decodeBody(_ body: [UInt8]) throws -> Prometheus_WriteRequest {
    var length = 0
    _ = body.withUnsafeBufferPointer { input in
        input.withMemoryRebound(to: CChar.self) { snappy_uncompressed_length($0.baseAddress, $0.count, &length) }
    }
    var output = [UInt8](repeating: 0, count: length)
    var outputLength = length
    let status = body.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { target in
            input.withMemoryRebound(to: CChar.self) { input in
                target.withMemoryRebound(to: CChar.self) { target in
                    snappy_uncompress(input.baseAddress, input.count, target.baseAddress, &outputLength)
                }
            }
        }
    }
    guard status == SNAPPY_OK else { throw DecodeFailure() }
    return try Prometheus_WriteRequest(serializedBytes: output)
}

struct DecodeFailure: Error {}

/// A loopback port nobody listens on right now (bound, read, closed).
func freePort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).wait()
    let port = channel.localAddress?.port ?? 0
    try channel.close().wait()
    return port
}
