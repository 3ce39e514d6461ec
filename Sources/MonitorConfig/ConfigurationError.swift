/// A configuration file that cannot be used, located precisely enough that an operator can fix it.
///
/// `--check-config` prints `description` verbatim, so it follows the compiler convention
/// `file:line: message` that editors and `grep -n` users already know how to jump to.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path of the file as the operator gave it (not canonicalised, so the message matches their command line).
    public var file: String
    /// The 1-based line of the offending text, or `nil` when the problem is the file as a whole
    /// (unreadable, too large) or a value that is missing rather than wrong.
    public var line: Int?
    /// What is wrong and, where it helps, what would be accepted instead.
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line {
            return "\(file):\(line): \(message)"
        }
        return "\(file): \(message)"
    }
}
