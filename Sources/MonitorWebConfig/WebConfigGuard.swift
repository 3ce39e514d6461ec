public import GatewayKit
import MonitorConfig
public import NIOCore
public import NIOHTTP1

/// A read web config file as the HTTP port applies it: TLS per connection, basic auth per request.
public struct WebConfigGuard: HTTPPortGuard {
    public let config: WebConfig
    let authenticator: BasicAuthenticator?

    /// `verified`: the passwords that matched under earlier readings of the file, still good for
    /// the users whose hash did not change.
    public init(config: WebConfig, verified: VerifiedPasswords = VerifiedPasswords()) {
        self.config = config
        self.authenticator =
            config.users.isEmpty ? nil : BasicAuthenticator(users: config.users, verified: verified)
    }

    /// The loader ``GatewayService`` and `--check-config` use: each reading of the file shares
    /// `verified`, so that a reload does not make every scraper pay bcrypt again.
    public static func loader(remembering verified: VerifiedPasswords) -> HTTPPortGuardLoader {
        { path throws(ConfigurationError) in
            WebConfigGuard(config: try WebConfig.load(path: path), verified: verified)
        }
    }

    public var usesTLS: Bool { config.tls != nil }

    public var responseHeaders: [(name: String, value: String)] { config.headers }

    public func secure(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try config.tls?.secure(pipeline)
    }

    public func refusal(for request: HTTPRequestHead, from address: String) async -> HTTPRefusal? {
        guard let authenticator else { return nil }
        // Only the first Authorization header counts; a second one is a malformed request.
        let values = request.headers["Authorization"]
        guard values.count <= 1 else { return Self.unauthorized("several Authorization headers") }
        switch await authenticator.verdict(authorization: values.first, from: address) {
        case .allowed:
            return nil
        case .denied:
            return Self.unauthorized("missing or wrong user name or password")
        case .busy:
            return HTTPRefusal(
                status: .serviceUnavailable, headers: [("Retry-After", "1")],
                body: "too many password checks at once; try again\n")
        }
    }

    private static func unauthorized(_ reason: String) -> HTTPRefusal {
        HTTPRefusal(
            status: .unauthorized, headers: [("WWW-Authenticate", "Basic realm=\"monitord\", charset=\"UTF-8\"")],
            body: "401 Unauthorized: \(reason)\n")
    }
}
