public import MonitorModel

/// One sample as the write-ahead log holds it, with the number of its record: what a forwarder
/// reads back from the log instead of keeping it in memory.
public struct LoggedSample: Sendable, Equatable {
    /// The log's record number (numbered from 1, across segments and restarts).
    public var number: UInt64
    /// The `agent_number` label.
    public var agent: String
    /// Unix time at which the gateway took it.
    public var arrival: Double
    public var sample: Sample

    public init(number: UInt64, agent: String, arrival: Double, sample: Sample) {
        self.number = number
        self.agent = agent
        self.arrival = arrival
        self.sample = sample
    }
}

/// What one read of the log gave: the samples, in record order, and the number of the last
/// record the read covered. `through` may be past the last sample's number: records that
/// cannot be read (deleted by the log's bound, passed over as damaged at recovery) are covered
/// without a sample, so that a reader never asks for them again.
public struct LoggedSamples: Sendable, Equatable {
    public var samples: [LoggedSample]
    public var through: UInt64

    public init(samples: [LoggedSample], through: UInt64) {
        self.samples = samples
        self.through = through
    }
}

/// The gateway's write-ahead log as a forwarder sees it: numbered records to read in order, and a
/// position, kept on disk, up to which every record was delivered or given up. Plain numbers, so
/// that a forwarder (module MonitorRemoteWrite) needs neither the log's module nor its format.
public protocol ForwardingLog: Sendable {
    /// The position found on disk when the gateway started: forwarding resumes after it.
    var confirmed: UInt64 { get }
    /// The number of the last record written.
    var lastAppended: UInt64 { get }
    /// At most `limit` samples of the records numbered after `number`, in order.
    func read(after number: UInt64, limit: Int) throws -> LoggedSamples
    /// Records on disk that every record up to `number` is delivered or given up for good.
    func confirm(upTo number: UInt64) throws
}
