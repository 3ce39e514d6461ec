import NIOCore

extension SocketAddress {
    /// "127.0.0.1:5555" or "[::1]:5555", without NIO's "[IPv4]" decoration: the form the log and the
    /// startup line give an address in.
    var hostAndPort: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        switch self {
        case .v6: return "[\(ip)]:\(port)"
        default: return "\(ip):\(port)"
        }
    }
}
