public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Writes each event as one ``LogLineFormat`` line to a file descriptor (stderr by default):
/// the backend for terminal runs, containers without journald, and `--check-config`.
public struct StderrLogHandler: LogHandler {
    /// The program name shown after the level, as syslog would show it.
    public let identifier: String
    /// Where lines go (2, stderr, by default); a parameter so that tests can read them back through a pipe.
    public let fileDescriptor: Int32
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(
        identifier: String, logLevel: Logger.Level = .info, fileDescriptor: Int32 = 2,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.identifier = identifier
        self.logLevel = logLevel
        self.fileDescriptor = fileDescriptor
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let merged = LogMetadata.merge(handler: metadata, provider: metadataProvider, event: event.metadata)
        let line = LogLineFormat.line(
            unixSeconds: Int64(now.tv_sec), level: event.level, identifier: identifier,
            message: event.message.description, metadata: merged, error: event.error)
        Self.write(line + "\n", to: fileDescriptor)
    }

    /// One `write(2)` per line where possible, so lines from concurrent loggers do not interleave;
    /// partial writes and `EINTR` are retried, other errors dropped (there is nowhere left to report them).
    static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
