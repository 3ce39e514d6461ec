public import MonitorConfig
public import NIOCore
public import NIOHTTP1

/// What the web config file (`web-config-file`, the exporter-toolkit format) imposes on the HTTP port:
/// TLS on every connection, basic auth on every request, headers on every response.
///
/// Declared here so that the listener can apply it, and built by the MonitorWebConfig module, which
/// needs YAML and bcrypt; the agent, which links this module, then links neither.
public protocol HTTPPortGuard: Sendable {
    /// Puts TLS in front of a new connection's pipeline, or does nothing for plain HTTP. Called on the
    /// connection's event loop before the HTTP handlers are added.
    func secure(_ pipeline: ChannelPipeline.SynchronousOperations) throws
    /// `nil` when the request may be served; otherwise the answer to send instead (401 with
    /// `WWW-Authenticate` for a missing or wrong password). May wait for a password check, never on the event loop.
    /// `address`: the client's IP address, without its port (password checks are shared out per address).
    func refusal(for request: HTTPRequestHead, from address: String) async -> HTTPRefusal?
    /// Added to every response (`http_server_config.headers`).
    var responseHeaders: [(name: String, value: String)] { get }
    /// Whether connections are TLS, for the startup line (`https://`).
    var usesTLS: Bool { get }
}

/// A request the guard does not let through, and what to answer.
public struct HTTPRefusal: Sendable {
    public var status: HTTPResponseStatus
    public var headers: [(name: String, value: String)]
    public var body: String

    public init(status: HTTPResponseStatus, headers: [(name: String, value: String)], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Reads a web config file into a guard; the error names the file and line. Given to ``GatewayService``
/// by the executable, so that `--check-config`, the start and every reload read the file the same way.
public typealias HTTPPortGuardLoader = @Sendable (_ path: String) throws(ConfigurationError) -> any HTTPPortGuard
