import MonitorModel
import MonitorSystem
import NIOCore
import NIOPosix

/// What a failed connection is called in the log: what the system said ("connection refused"),
/// not NIO's wrapping of it ("connection reset (error set): Connection refused) (errno: 111)",
/// "Connection errors: SingleConnectionFailure(target: [IPv4]127.0.0.1/127.0.0.1:9090, error: …)").
public enum NetworkErrorText {
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as IOError:
            return lowercasedFirst(BoundedFile.systemMessage(error.errnoCode))
        case let error as NIOConnectionError:
            // Every address tried failed: the first one's reason (the others' are most often the same).
            if let first = error.connectionErrors.first {
                let others = error.connectionErrors.count - 1
                let more = others > 0 ? " and \(others) more addresses" : ""
                return "\(describe(first.error)) (\(first.target.textForLog)\(more))"
            }
            if let resolution = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve \(error.host): \(describe(resolution))"
            }
            return "no address found for \(error.host)"
        case ChannelError.connectTimeout(let timeout):
            return "no answer within \(Duration.nanoseconds(timeout.nanoseconds).formattedSeconds)"
        default:
            return "\(error)"
        }
    }

    private static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase == true else {
            return text
        }
        return first.lowercased() + text.dropFirst()
    }
}

extension SocketAddress {
    /// "127.0.0.1:9090", "[::1]:9090": the address as one writes it.
    fileprivate var textForLog: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        if case .v6 = self { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
