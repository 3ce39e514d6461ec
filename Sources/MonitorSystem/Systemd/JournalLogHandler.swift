import CSystemd
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Writes each log event as a native journal entry, so that `journalctl -u monitord` can filter
/// by priority and by the event's metadata (`journalctl AGENT=web-01`), which plain stderr
/// lines captured by journald cannot offer.
public struct JournalLogHandler: LogHandler {
    /// `SYSLOG_IDENTIFIER`: what `journalctl -t` and the log prefix show.
    public let identifier: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(identifier: String, logLevel: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.identifier = identifier
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = LogMetadata.merge(handler: metadata, provider: metadataProvider, event: event.metadata)
        let fields = JournalFields.entry(
            message: event.message.description, level: event.level, identifier: identifier, file: event.file,
            line: event.line, function: event.function, metadata: merged, error: event.error)
        if !Self.send(fields) {
            // The journal refused (socket gone, out of memory): the event must still go somewhere.
            var fallback = StderrLogHandler(identifier: identifier, logLevel: logLevel)
            fallback.metadata = metadata
            fallback.metadataProvider = metadataProvider
            fallback.log(event: event)
        }
    }

    /// One `sd_journal_sendv` call over all fields, packed into a single buffer so that every
    /// iovec points into memory that lives for the whole call.
    static func send(_ fields: [String]) -> Bool {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { bytes -> Bool in
            guard let base = bytes.baseAddress else { return false }
            var vectors = ranges.map { range in
                iovec(iov_base: base + range.lowerBound, iov_len: range.count)
            }
            return vectors.withUnsafeMutableBufferPointer { vectorBuffer in
                sd_journal_sendv(vectorBuffer.baseAddress, Int32(vectorBuffer.count)) >= 0
            }
        }
    }
}
