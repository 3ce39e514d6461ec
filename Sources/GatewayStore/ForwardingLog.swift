/// What one read of the log gave: the records, in order, and the number of the last record the
/// read covered (records are numbered from 1, across segments and restarts). `through` may be
/// past the last record read: records that cannot be read (deleted by the log's bound, passed
/// over as damaged at recovery) are covered without one, so that a reader never asks for them again.
public struct LoggedSamples: Sendable, Equatable {
    public var records: [WALRecord]
    public var through: UInt64

    public init(records: [WALRecord], through: UInt64) {
        self.records = records
        self.through = through
    }
}

/// The gateway's write-ahead log as a forwarder sees it: numbered records to read in order, and a
/// position, kept on disk, up to which every record was delivered or given up. Records and plain
/// numbers, so that a forwarder (module MonitorRemoteWrite) needs neither the log's module nor its
/// format.
public protocol ForwardingLog: Sendable {
    /// The position found on disk when the gateway started: forwarding resumes after it.
    var confirmed: UInt64 { get }
    /// The number of the last record written.
    var lastAppended: UInt64 { get }
    /// At most `limit` samples of the records numbered after `number`, in order.
    func read(after number: UInt64, limit: Int) throws -> LoggedSamples
    /// Records on disk that every record up to `number` is delivered or given up for good.
    func confirm(upTo number: UInt64) throws
    /// Per agent, the newest timestamp (Unix seconds) of the records up to ``confirmed`` found at the
    /// start: what was sent of its series before this start.
    var newestForwarded: [String: Double] { get }
}

extension ForwardingLog {
    public var newestForwarded: [String: Double] { [:] }
}
