/// A `/proc` file that could not be read or did not have the expected format.
///
/// It names the file, because the agent logs it and carries on with the next sample (and the gateway omits its `process_*` families): an operator reading
/// the journal must be able to tell a missing `/proc` mount from a kernel with an unexpected format.
public struct ProcFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as a path (`/proc/meminfo`).
    public var file: String
    /// What was wrong with it.
    public var message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
