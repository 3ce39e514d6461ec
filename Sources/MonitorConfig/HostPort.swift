/// A TCP endpoint as written in the configuration: a host name or address and a port.
///
/// The host is kept as text rather than resolved, so that a name that resolves differently after a
/// reload or reconnect is looked up again by whoever connects or binds.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    /// A host name, an IPv4 address or an IPv6 address without brackets.
    public var host: String
    /// 0...65535; 0 asks the system for any free port (useful for tests).
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Renders the form `parse` accepts back, bracketing IPv6 addresses so that the port stays unambiguous.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Reads `host:port`, `[ipv6]:port`; returns `nil` for anything else so the caller can say what it expected.
    public static func parse(_ text: String) -> HostPort? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, host.unicodeScalars.allSatisfy(isHostScalar) else { return nil }
        guard let port = parsePort(portText) else { return nil }
        return HostPort(host: String(host), port: port)
    }

    /// Whether binding both would collide: the same port (not 0, which asks for any free one) on the same
    /// host, or on hosts a wildcard covers (`0.0.0.0` covers every IPv4 address, `::` every address, as
    /// Linux binds it dual-stack by default). Host names are compared as written, not resolved.
    public func overlaps(_ other: HostPort) -> Bool {
        guard port == other.port, port != 0 else { return false }
        let (mine, theirs) = (host.lowercased(), other.host.lowercased())
        if mine == theirs || mine == "::" || theirs == "::" { return true }
        let isIPv4 = { (host: String) in host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber } }
        return (mine == "0.0.0.0" && isIPv4(theirs)) || (theirs == "0.0.0.0" && isIPv4(mine))
    }

    private static func isHostScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_", ":", "%": true
        default: false
        }
    }

    private static func parsePort(_ text: Substring) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(text), (0...65535).contains(port)
        else { return nil }
        return port
    }
}
