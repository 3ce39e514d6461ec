/// Why a message from a peer was refused.
///
/// The `reason` is sent to the peer in `{"type":"error","reason":...}` before the connection is
/// closed, and logged, so it names the offending field and the rule it broke. Reasons never
/// echo more than a short, sanitised excerpt of what the peer sent.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line of English for the peer and the log.
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

extension ProtocolError {
    /// JSON that the strict reader refuses; `detail` says where and why.
    static func invalidJSON(_ detail: String) -> ProtocolError {
        ProtocolError(reason: "not valid JSON: \(detail)")
    }
}
