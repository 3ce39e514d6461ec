import DaemonKit
import GatewayStatus
import GatewayStore
import GatewayWAL
import Logging
import MonitorConfig
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix

/// The HTTP port: `GET /metrics` for Prometheus, the status page at `GET /` and its JSON at `GET /api/v1/agents`.
///
/// The transport (HTTP/1.1, keep-alive, HEAD) is here once; what each path answers is an entry of
/// ``routes``. Three endpoints do not justify a web framework; NIOHTTP1 bounds header sizes for us
/// and the idle handler closes connections that stall (slow-header peers). With `web-config-file`, an
/// ``HTTPPortGuard`` adds TLS to each new connection and checks every request's password first.
struct HTTPPort: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// What accepting a connection made of it: an HTTP connection to serve, or one that was
    /// answered 503 already (beyond `max-http-connections`).
    enum Admission: Sendable {
        /// With the configuration generation its TLS settings came from.
        case admitted(Connection, generation: UInt64)
        case refused
    }

    let server: NIOAsyncChannel<Admission, Never>
    let state: GatewayState
    /// Each agent's lines of `/metrics`, re-rendered only for agents that changed between scrapes.
    let agentLines: RenderedAgentLines
    /// `/` and `/api/v1/agents`, rendered at most once a second however many ask.
    let recentStatusPage = RecentDocument()
    let recentAgentsJSON = RecentDocument()

    var localAddress: SocketAddress? { server.channel.localAddress }

    static func bind(_ address: HostPort, state: GatewayState, group: any EventLoopGroup) async throws
        -> HTTPPort
    {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                // Read per connection, so that a reloaded web config file applies to new connections.
                // Generation first: a reload in between makes it older than the guard, never newer.
                let generation = state.configurationGeneration
                let httpGuard = state.httpGuard
                let maximum = state.configuration.maxHTTPConnections
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try httpGuard?.secure(pipeline)
                    // The HTTP port has its own share of descriptors: past it, a newcomer replaces the
                    // connection that waited longest for a request, or gets a 503 at once if all are
                    // busy, so floods of HTTP clients cannot take what agents and scrapes need.
                    switch state.httpConnections.admit(
                        ObjectIdentifier(channel), maximum: maximum, close: { channel.close(promise: nil) })
                    {
                    case .refused:
                        state.counters.httpConnectionRefused()
                        try pipeline.addHandler(ServiceUnavailableResponder(maximum: maximum))
                        return Admission.refused
                    case .replacing:
                        state.counters.httpConnectionReplaced()
                    case .admitted:
                        break
                    }
                    do {
                        // A bounded send buffer (the kernel doubles it; without it, it grows to 4 MiB):
                        // a client that pipelines requests without reading the answers fills it soon,
                        // the channel stops being writable, and its next request closes it (below),
                        // instead of the gateway rendering page after page for it (audit 6, 02).
                        try channel.syncOptions?.setOption(
                            ChannelOptions.socketOption(.so_sndbuf), value: HTTPPort.sendBufferBytes)
                        try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                        try pipeline.addHandler(CloseOnIdleHandler())
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                        // gzip when the client asks for it (Prometheus does): the page of 10,000 agents
                        // is 4 MiB of text that compresses about tenfold.
                        try pipeline.addHandler(
                            HTTPResponseCompressor(responseCompressionPredicate: HTTPPort.compressIfMarked))
                        // Half-closure lets a "Connection: close" response end with a FIN after the
                        // last byte is written, instead of a close that drops what is still queued.
                        return Admission.admitted(
                            try Connection(
                                wrappingChannelSynchronously: channel,
                                configuration: .init(isOutboundHalfClosureEnabled: true)
                            ), generation: generation)
                    } catch {
                        state.httpConnections.remove(ObjectIdentifier(channel))
                        throw error
                    }
                }
            }
        try await AcceptBackoff.shorten(on: server.channel, logger: state.logger)
        return HTTPPort(server: server, state: state, agentLines: RenderedAgentLines())
    }

    func close() {
        server.channel.close(promise: nil)
    }

    /// Set by ``handle(_:)`` on a response with a body to send (never on a HEAD's, which has a length but no
    /// body: compressed, it would get one). Taken off again before the head is written.
    private static let compressibleMarker = "x-monitord-compressible"

    /// Half the send buffer each HTTP connection gets (the kernel doubles it): a page of 10,000 agents
    /// (about 400 KiB gzipped) leaves in a few round trips, and a client that does not read is found
    /// out after about 200 KiB of answers (this and NIO's 64 KiB of pending writes).
    static let sendBufferBytes: SocketOptionValue = 64 << 10

    /// Whether the compressor may gzip this response, if the client asked for it.
    private static func compressIfMarked(
        _ head: inout HTTPResponseHead, _ clientAccepts: Bool
    ) -> HTTPResponseCompressor.CompressionIntent {
        let marked = head.headers.contains(name: compressibleMarker)
        head.headers.remove(name: compressibleMarker)
        guard marked else { return .doNotCompress }
        head.headers.add(name: "Vary", value: "Accept-Encoding")
        return .compressIfPossible
    }

    func serve() async {
        await server.serveConnections(logger: state.logger, name: "metrics") { connection in
            await handle(connection)
        }
    }

    private func handle(_ admission: Admission) async {
        guard case .admitted(let connection, let generation) = admission else { return }
        let configuration = state.configuration
        let channel = connection.channel
        let pooled = ObjectIdentifier(channel)
        defer { state.httpConnections.remove(pooled) }
        // Each request must arrive whole within http-request-timeout of the connection's start or of the
        // previous response; the idle timer alone is reset by every byte a trickling client sends.
        let client = channel.remoteAddress?.ipAddress ?? "unknown"
        let timeout = TimeAmount(configuration.httpRequestTimeout)
        var deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: HTTPRequestHead?
                var closing = false
                for try await part in inbound where !closing {
                    switch part {
                    case .head(let head):
                        request = head
                    case .body:
                        // Scrapes carry no body; whatever comes is dropped, never accumulated.
                        break
                    case .end:
                        guard let head = request else { continue }
                        request = nil
                        // The request is whole: the deadline for reading it ends (the answer gets its own, below).
                        deadline.cancel()
                        let closeUnanswered: String? =
                            if state.configurationGeneration != generation {
                                // A reload since this connection was accepted may require TLS or a client
                                // certificate it was not made with: it is closed, unanswered, and the client
                                // sends the request again on a new connection, as HTTP clients do when a
                                // keep-alive connection closes (audit 7, 06).
                                "accepted before the last reload"
                            } else if !channel.isWritable {
                                // A client that pipelines requests without reading the answers would have the
                                // gateway render page after page into a socket that never drains (audit 6, 02).
                                // Clients that read (Prometheus, browsers) never get here with a full buffer.
                                "a request came while earlier answers were unread"
                            } else {
                                nil
                            }
                        if let closeUnanswered {
                            state.logger.debug(
                                "metrics connection closed: \(closeUnanswered)", metadata: ["client": "\(client)"])
                            channel.close(promise: nil)
                            closing = true
                            continue
                        }
                        // Busy from here to the response only: a connection still sending its request (a
                        // body promised and trickled, say) can be replaced by a newcomer (audit 6, 01).
                        state.httpConnections.requestStarted(on: pooled)
                        var response = await guarded(head, from: client)
                        let hasBody = head.method != .HEAD && response.body.readableBytes > 0
                        if hasBody { response.head.headers.add(name: Self.compressibleMarker, value: "1") }
                        // One write and one flush for the whole response: the compressor then sees it
                        // complete and sends a Content-Length rather than chunks.
                        var parts: [HTTPServerResponsePart] = [.head(response.head)]
                        if hasBody { parts.append(.body(.byteBuffer(response.body))) }
                        parts.append(.end(nil))
                        // The answer must be taken within the timeout too: the write waits while the
                        // channel is not writable, and a client that never reads would hold it (and
                        // its place in the pool, as busy) for ever.
                        deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
                        try await outbound.write(contentsOf: parts)
                        deadline.cancel()
                        state.httpConnections.requestAnswered(on: pooled)
                        deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
                        if !head.isKeepAlive {
                            // Flush, then FIN; the client's close ends the inbound stream (or
                            // the deadline does, for a client that never closes).
                            outbound.finish()
                            closing = true
                        }
                    }
                }
            }
        } catch {
            state.logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }

    private typealias Response = (head: HTTPResponseHead, body: ByteBuffer)

    /// The guard's refusal, or the page; either with the guard's response headers.
    private func guarded(_ request: HTTPRequestHead, from client: String) async -> Response {
        guard let httpGuard = state.httpGuard else { return respond(to: request) }
        var response: Response
        if let refusal = await httpGuard.refusal(for: request, from: client) {
            response = plain(refusal.status, refusal.body, request)
            for (name, value) in refusal.headers { response.head.headers.add(name: name, value: value) }
        } else {
            response = respond(to: request)
        }
        for (name, value) in httpGuard.responseHeaders { response.head.headers.replaceOrAdd(name: name, value: value) }
        return response
    }

    /// What the port serves: each path and how it answers a GET (a HEAD gets the same head).
    private var routes: [String: (HTTPRequestHead) -> Response] {
        ["/metrics": metrics, "/": statusPage, "/api/v1/agents": agentsJSON]
    }

    private func respond(to request: HTTPRequestHead) -> Response {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let route = routes[String(path)] else {
            return plain(.notFound, "not found: / (status), /api/v1/agents and /metrics are served here\n", request)
        }
        guard request.method == .GET || request.method == .HEAD else {
            return plain(
                .methodNotAllowed, "method \(request.method) not allowed on \(path)\n", request, allow: "GET, HEAD")
        }
        return route(request)
    }

    private func metrics(_ request: HTTPRequestHead) -> Response {
        let format = ExpositionFormat.negotiate(
            accept: request.headers.contains(name: "Accept") ? request.headers["Accept"].joined(separator: ",") : nil)
        // The page is written straight into the response's buffer: 4 MiB at 10,000 agents, not
        // copied once more.
        let body = MetricsPage.render(
            from: state.store,
            now: state.clock.now(),
            keptIn: agentLines,
            process: ProcessMetrics.current(),
            extra: state.counters.families() + (state.forwarder?.families() ?? []) + (state.wal?.families() ?? []),
            format: format
        ) { size, fill in
            var buffer = ByteBufferAllocator().buffer(capacity: size)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
                fill(UnsafeMutableRawBufferPointer(rebasing: bytes[..<size]))
                return size
            }
            return buffer
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: format.contentType)
        headers.add(name: "Vary", value: "Accept")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        return (HTTPResponseHead(version: request.version, status: .ok, headers: headers), body)
    }

    private func statusPage(_ request: HTTPRequestHead) -> Response {
        let now = state.clock.now()
        let text = recentStatusPage.text(now: now) { StatusPage.render(state.store.snapshot(now: now), now: now) }
        return document(text, type: "text/html; charset=utf-8", request)
    }

    private func agentsJSON(_ request: HTTPRequestHead) -> Response {
        let now = state.clock.now()
        let text = recentAgentsJSON.text(now: now) { AgentsJSON.render(state.store.snapshot(now: now), now: now) }
        return document(text, type: "application/json", request)
    }

    /// The status page and its JSON: never cached (they are live views), and the page may load nothing but itself.
    private func document(_ text: String, type: String, _ request: HTTPRequestHead) -> (
        head: HTTPResponseHead, body: ByteBuffer
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(
            name: "Content-Security-Policy",
            value:
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; "
                + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        return (HTTPResponseHead(version: request.version, status: .ok, headers: headers), ByteBuffer(string: text))
    }

    private func plain(
        _ status: HTTPResponseStatus,
        _ text: String,
        _ request: HTTPRequestHead,
        allow: String? = nil
    ) -> (head: HTTPResponseHead, body: ByteBuffer) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        if let allow { headers.add(name: "Allow", value: allow) }
        return (HTTPResponseHead(version: request.version, status: status, headers: headers), ByteBuffer(string: text))
    }
}
