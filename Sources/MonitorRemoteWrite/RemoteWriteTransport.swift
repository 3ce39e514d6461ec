import GatewayConfig
import MonitorConfig
import MonitorModel
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What the receiver answered to one request.
struct RemoteWriteResponse: Sendable, Equatable {
    var status: Int
    /// The beginning of the body (receivers explain rejections there), at most 512 bytes, for the log.
    var detail: String
}

/// Carries one request body to the receiver. A protocol so that TLS (or HTTP/2) is another conforming
/// type chosen from the URL's scheme, while batching, retries and metrics stay as they are.
protocol RemoteWriteTransport: Sendable {
    /// Sends `body`; throws on connection failures and timeouts (which the writer retries).
    func post(_ body: [UInt8], timeout: Duration) async throws -> RemoteWriteResponse
}

/// A request that ended without a complete response.
struct RemoteWriteTransportError: Error, CustomStringConvertible {
    var description: String
}

/// HTTP/1.1 over NIO, plain or over TLS, one connection per request.
///
/// One connection per batch costs a loopback or LAN handshake every few seconds at most, and in
/// exchange there is no idle-connection state to get wrong (half-closed keep-alive sockets, receivers
/// restarting between batches).
struct HTTPRemoteWriteTransport: RemoteWriteTransport {
    let endpoint: RemoteWriteEndpoint
    /// Fixed headers of every request (authorization included), built once.
    let headers: HTTPHeaders
    let group: any EventLoopGroup
    /// For `https://`: the client context, and the name the certificate must carry (nil for an IP
    /// address, which NIOSSL then checks against the certificate's IP addresses).
    let tls: NIOSSLContext?
    let serverName: String?

    init(
        endpoint: RemoteWriteEndpoint, authorization: String?, tenantID: String? = nil, tls: NIOSSLContext? = nil,
        serverName: String? = nil, group: any EventLoopGroup
    ) {
        self.endpoint = endpoint
        self.group = group
        self.tls = tls
        self.serverName = serverName ?? (endpoint.hostIsAddress ? nil : endpoint.host)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "User-Agent", value: "monitord/\(MonitorVersion.current)")
        headers.add(name: "Content-Type", value: "application/x-protobuf")
        headers.add(name: "Content-Encoding", value: "snappy")
        headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        headers.add(name: "Connection", value: "close")
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        if let tenantID { headers.add(name: "X-Scope-OrgID", value: tenantID) }
        self.headers = headers
    }

    func post(_ body: [UInt8], timeout: Duration) async throws -> RemoteWriteResponse {
        typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let (tls, serverName) = (self.tls, self.serverName)
        let connection = try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        // The whole exchange is bounded: closing the channel ends the inbound stream below.
        let channel = connection.channel
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await connection.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.path, headers: headers)
            head.headers.add(name: "Content-Length", value: "\(body.count)")
            // One flush for the whole request: a receiver that answers and closes as soon as it has the body
            // must not turn a stored batch into a write error (and a retry) on our side.
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
            var status: Int?
            var detail: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                case .body(let buffer):
                    detail += buffer.readableBytesView.prefix(max(0, 512 - detail.count))
                case .end:
                    guard let status else { break }
                    return RemoteWriteResponse(status: status, detail: Self.printable(detail))
                }
            }
            throw RemoteWriteTransportError(
                description:
                    "connection to \(endpoint.hostHeader) closed before a complete response (timeout \(timeout))")
        }
    }

    /// The body as one log-friendly line.
    private static func printable(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? " " : String(scalar)
        }.joined().trimmingPrefixAndSuffixSpaces()
    }
}

extension String {
    fileprivate func trimmingPrefixAndSuffixSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }),
            let last = scalars.lastIndex(where: { $0 != " " })
        else { return "" }
        return String(scalars[first...last])
    }
}
