import MonitorConfig
import MonitorSystem

/// Where remote-write requests go: `url` of `[remote-write]`, split into what a connection needs.
///
/// Parsed by hand (no Foundation `URL` in the daemon) and deliberately narrow: a scheme, a host or
/// bracketed IPv6 address, an optional port and a path. User info in the URL is refused, because
/// credentials belong in files the configuration points to, not in a world-readable config line.
///
/// Other modules get one only from ``parse(_:)``: the memberwise initializer is the module's own.
public struct RemoteWriteEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// How the bytes travel: plain HTTP, or HTTP over TLS (hosted and multi-tenant receivers).
    public enum Scheme: String, Sendable {
        case http
        case https

        var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    public var host: String
    public var port: Int
    /// The request target, starting with `/` (with the query, if the URL had one).
    public var path: String

    /// The URL again, as `parse` accepts it.
    public var description: String {
        "\(scheme.rawValue)://\(hostHeader)\(path)"
    }

    /// The value of the `Host` header: the host, bracketed when IPv6, with the port unless it is the default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? name : "\(name):\(port)"
    }

    /// Whether the host is an IP address literal (TLS then checks the certificate's IP addresses, and
    /// sends no server name).
    public var hostIsAddress: Bool {
        host.contains(":")
            || (host.split(separator: ".").count == 4
                && host.utf8.allSatisfy { $0 == 0x2E || (0x30...0x39).contains($0) })
    }

    /// Reads `http[s]://host[:port][/path]`; the error says what is wrong, for a `file:line:` message.
    public static func parse(_ text: String) -> Result<RemoteWriteEndpoint, RemoteWriteEndpointError> {
        guard let schemeEnd = text.utf8.firstRange(ofBytes: "://".utf8) else {
            return .failure(.init("is not a URL (e.g. http://127.0.0.1:9090/api/v1/write)"))
        }
        let schemeText = text[..<schemeEnd.lowerBound].lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else {
            return .failure(.init("has scheme \(schemeText.quoted); only http and https are supported"))
        }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var path = String(rest[authority.endIndex...])
        if path.isEmpty { path = "/" }
        if path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@") else {
            return .failure(.init("must not contain credentials: use basic-auth-password-file or bearer-token-file"))
        }
        guard path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }), !path.contains("#") else {
            return .failure(.init("has a path with spaces, control characters, non-ASCII or a fragment"))
        }
        let hostPart: Substring
        var port = scheme.defaultPort
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(.init("has an unclosed \"[\"")) }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = parsePort(after.dropFirst()) else {
                    return .failure(.init("has a bad port"))
                }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            guard let value = parsePort(authority[authority.index(after: colon)...]) else {
                return .failure(.init("has a bad port"))
            }
            port = value
        } else {
            hostPart = authority
        }
        guard !hostPart.isEmpty, HostPort.parse(hostPart.contains(":") ? "[\(hostPart)]:1" : "\(hostPart):1") != nil
        else {
            return .failure(.init("has no valid host"))
        }
        return .success(RemoteWriteEndpoint(scheme: scheme, host: String(hostPart), port: port, path: path))
    }

    private static func parsePort(_ text: Substring) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(text), (1...65535).contains(port)
        else { return nil }
        return port
    }
}

/// Why a `url` value was refused; the message completes "url: <value> ...".
public struct RemoteWriteEndpointError: Error, Sendable, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}
