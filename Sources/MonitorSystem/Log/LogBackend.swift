public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Chooses where the daemons' logs go and installs it as swift-log's global handler.
public enum LogBackend: Sendable, Equatable {
    /// Native journal entries (``JournalEntry``).
    case journal
    /// Readable lines on stderr (``LogLineFormat``).
    case stderr

    /// The journal exactly when stderr is already a journal stream, i.e. when systemd started us
    /// with `StandardError=journal` and announced the stream in `$JOURNAL_STREAM` (`device:inode`,
    /// see `systemd.exec(5)`), which is the upgrade path systemd documents. The mere presence of
    /// `/run/systemd/journal/socket` is not enough: someone running the daemon in a terminal on a
    /// systemd host wants to see the output there. A `$JOURNAL_STREAM` inherited by a child whose
    /// stderr was redirected does not match, so that child logs to its new stderr.
    public static func detect(
        environment: [String: String] = ProcessEnvironment.current(), stderrDescriptor: Int32 = 2
    ) -> LogBackend {
        guard let stream = environment["JOURNAL_STREAM"], let (device, inode) = parseStream(stream) else {
            return .stderr
        }
        var status = stat()
        guard fstat(stderrDescriptor, &status) == 0 else { return .stderr }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode ? .journal : .stderr
    }

    /// Installs the detected (or given) backend for every `Logger` in the process.
    ///
    /// - Parameters:
    ///   - identifier: the program name (`SYSLOG_IDENTIFIER` / the line prefix), e.g. `monitord`.
    ///   - level: the least severe level that is written.
    ///   - backend: forces a backend; `nil` uses ``detect(environment:stderrDescriptor:)``.
    /// - Note: swift-log allows one bootstrap per process; call this first thing in `main`.
    public static func bootstrap(identifier: String, level: Logger.Level, backend: LogBackend? = nil) {
        let chosen = backend ?? detect()
        LoggingSystem.bootstrap { _ in DaemonLogHandler(identifier: identifier, backend: chosen, logLevel: level) }
    }

    /// `$JOURNAL_STREAM` is `<st_dev>:<st_ino>` in decimal.
    static func parseStream(_ text: String) -> (device: UInt64, inode: UInt64)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }
}
