#if canImport(Glibc)
    import Glibc
#endif

/// What the daemons say to the operator before logging starts (command-line and configuration
/// errors): written with write(2) on fd 2 rather than stdio's `stderr`, a global Swift 6 rightly calls
/// shared mutable state, through the log handler's one write loop.
public enum StandardError {
    /// Writes `text` as one line: a newline is added unless it ends in one.
    public static func printLine(_ text: String) {
        DaemonLogHandler.write(text.hasSuffix("\n") ? text : text + "\n", to: STDERR_FILENO)
    }
}
