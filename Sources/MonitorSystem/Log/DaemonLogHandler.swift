public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The daemons' swift-log handler: one handler, whose ``LogBackend`` decides where each event goes.
///
/// `.journal` writes a native journal entry (``JournalEntry``), so that `journalctl -u monitord` can
/// filter by priority and by the event's metadata (`journalctl AGENT=web-01`), which plain stderr lines
/// captured by journald cannot offer. `.stderr` writes one ``LogLineFormat`` line to a file descriptor:
/// for terminal runs, containers without journald, and `--check-config`.
public struct DaemonLogHandler: LogHandler {
    /// The program name: `SYSLOG_IDENTIFIER` in the journal, the word after the level on stderr.
    public let identifier: String
    public let backend: LogBackend
    /// Where stderr lines go (2, stderr, by default); a parameter so that tests can read them back through a pipe.
    /// Also the journal's fallback when the journal refuses an entry.
    public let fileDescriptor: Int32
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(
        identifier: String, backend: LogBackend, logLevel: Logger.Level = .info, fileDescriptor: Int32 = 2,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.identifier = identifier
        self.backend = backend
        self.logLevel = logLevel
        self.fileDescriptor = fileDescriptor
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = LogMetadata.merge(handler: metadata, provider: metadataProvider, event: event.metadata)
        if backend == .journal {
            let fields = JournalFields.entry(
                message: event.message.description, level: event.level, identifier: identifier, file: event.file,
                line: event.line, function: event.function, metadata: merged, error: event.error)
            // The journal refused (socket gone, out of memory): the event must still go somewhere.
            if JournalEntry.send(fields) { return }
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let line = LogLineFormat.line(
            unixSeconds: Int64(now.tv_sec), level: event.level, identifier: identifier,
            message: event.message.description, metadata: merged, error: event.error)
        Self.write(line + "\n", to: fileDescriptor)
    }

    /// One `write(2)` per line where possible, so lines from concurrent loggers do not interleave;
    /// partial writes and `EINTR` are retried, other errors dropped (there is nowhere left to report them).
    static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in _ = DescriptorIO.writeAll(descriptor, UnsafeRawBufferPointer(bytes)) }
    }
}
