public import MonitorConfig
import MonitorModel

/// The gateway's `tokens-file`: one `name token` pair per line, `#` comments and blank lines
/// allowed. With it, a native agent is admitted only with the token written for its name.
public struct AgentTokens: Sendable, Equatable {
    private var tokens: [String: [UInt8]]

    public var count: Int { tokens.count }

    init(tokens: [String: [UInt8]]) {
        self.tokens = tokens
    }

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> AgentTokens {
        var tokens: [String: [UInt8]] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = INIParser.trimmed(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else {
                throw ConfigurationError(
                    file: file, line: lineNumber,
                    message: "expected \"name token\" (two fields separated by white space), found \(fields.count)")
            }
            let name = String(fields[0])
            do {
                try AgentName.validate(name)
            } catch {
                throw ConfigurationError(file: file, line: lineNumber, message: "agent name: \(error.reason)")
            }
            let token = Array(fields[1].utf8)
            guard (16...256).contains(token.count) else {
                throw ConfigurationError(
                    file: file, line: lineNumber,
                    message:
                        "the token for \(name) must be 16 to 256 bytes long (found \(token.count)): short tokens can be guessed"
                )
            }
            guard tokens.updateValue(token, forKey: name) == nil else {
                throw ConfigurationError(file: file, line: lineNumber, message: "a second token for \(name)")
            }
        }
        return AgentTokens(tokens: tokens)
    }

    public static func load(path: String) throws(ConfigurationError) -> AgentTokens {
        try parse(ConfigurationFile.read(path: path), file: path)
    }

    /// Whether `token` is the one written for `agent`. The comparison takes the same time wherever
    /// the first difference is, so that response timing does not reveal a token byte by byte.
    public func verify(agent: String, token: String?) -> Bool {
        let expected = tokens[agent]
        let given = Array((token ?? "").utf8)
        // Compare against something of the right shape even for unknown agents, so that an unknown
        // name costs the same as a wrong token.
        let reference = expected ?? [UInt8](repeating: 0, count: given.count)
        var difference = UInt8(reference.count == given.count ? 0 : 1)
        for index in 0..<max(reference.count, given.count) {
            let left = index < reference.count ? reference[index] : 0
            let right = index < given.count ? given[index] : 0
            difference |= left ^ right
        }
        return expected != nil && token != nil && difference == 0
    }
}
