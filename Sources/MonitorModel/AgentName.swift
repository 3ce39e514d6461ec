/// The rules for the name an agent announces, which becomes its `agent_number` label value.
public enum AgentName {
    /// Longest accepted name; label values this short keep series and logs readable.
    public static let maximumLength = 64

    /// Checks `name`: 1...64 characters of `A-Z a-z 0-9 . _ -`, and not `agent_<digits>`,
    /// which the gateway gives to peers speaking the report's format. The reason of the error
    /// says which rule failed, so the agent can refuse a bad configured name at start.
    public static func validate(_ name: String) throws(InvalidAgentName) {
        let bytes = name.utf8
        guard (1...maximumLength).contains(bytes.count), hasOnlyAllowedCharacters(name) else {
            throw InvalidAgentName(reason: "\"agent\" must be 1 to \(maximumLength) characters of A-Z a-z 0-9 . _ -")
        }
        if isReserved(name) {
            throw InvalidAgentName(reason: "agent name \"\(name)\" is reserved for peers speaking the report's format")
        }
    }

    /// Whether `name` has the form `agent_<digits>` of the report's connection numbering.
    public static func isReserved(_ name: String) -> Bool {
        let prefix = "agent_".utf8
        let bytes = name.utf8
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return false }
        return bytes.dropFirst(prefix.count).allSatisfy { $0 &- UInt8(ascii: "0") < 10 }
    }

    /// Whether every character of `name` is one of `A-Z a-z 0-9 . _ -`.
    public static func hasOnlyAllowedCharacters(_ name: String) -> Bool {
        name.utf8.allSatisfy(isAllowed)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

/// Why a name breaks the rules of ``AgentName``; the reason names the rule.
public struct InvalidAgentName: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
