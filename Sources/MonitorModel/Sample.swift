/// One measurement of a host, as an agent takes it and the gateway stores it.
///
/// The four values are the report's four metrics; `sequence` and `timestamp` are what the
/// native protocol adds so that nothing is counted twice and replayed samples keep their time.
public struct Sample: Sendable, Hashable {
    /// Per-agent-session sequence number, from 1. Samples in the report's format carry 0.
    public var sequence: UInt64
    /// Unix time, in seconds, at which the agent took the sample; `nil` when the peer did not
    /// say (the report's format), in which case the gateway uses the time of arrival.
    public var timestamp: Double?
    /// System RAM in use, percent: `(MemTotal - MemAvailable) / MemTotal * 100`.
    public var ramUsagePercent: Double
    /// System CPU utilisation over the agent's CPU window, percent.
    public var cpuUsagePercent: Double
    /// Resident memory of the agent process itself, in GiB (bytes / 2^30).
    public var processRAMGigabytes: Double
    /// Interrupts serviced since boot.
    public var cpuInterrupts: UInt64

    public init(
        sequence: UInt64,
        timestamp: Double?,
        ramUsagePercent: Double,
        cpuUsagePercent: Double,
        processRAMGigabytes: Double,
        cpuInterrupts: UInt64
    ) {
        self.sequence = sequence
        self.timestamp = timestamp
        self.ramUsagePercent = ramUsagePercent
        self.cpuUsagePercent = cpuUsagePercent
        self.processRAMGigabytes = processRAMGigabytes
        self.cpuInterrupts = cpuInterrupts
    }
}
