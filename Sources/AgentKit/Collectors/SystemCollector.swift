public import MonitorModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Takes the report's four metrics from `/proc`, without ever sleeping.
///
/// The report's agent blocked 4 s inside `cpu_percent(4)`. Here the caller keeps the CPU counters taken at
/// the start of the window and hands them back at its end, so the agent's event loop stays responsive.
public struct SystemCollector: Sendable {
    public var reader: ProcFileReader

    public init(reader: ProcFileReader = ProcFileReader()) {
        self.reader = reader
    }

    public func cpuTimes() throws(CollectorError) -> CPUTimes {
        try CPUTimes.parse(procStat: reader.read("stat"))
    }

    public func memory() throws(CollectorError) -> MemoryInfo {
        let meminfo = try reader.read("meminfo")
        // zoneinfo is only needed on kernels without a usable MemAvailable; do not read it otherwise.
        let needsEstimate = !meminfo.split(separator: "\n").contains { line in
            line.hasPrefix("MemAvailable:") && !line.split(separator: " ").dropFirst().starts(with: ["0"])
        }
        let zoneinfo = needsEstimate ? try? reader.read("zoneinfo") : nil
        return try MemoryInfo.parse(meminfo, zoneinfo: zoneinfo, pageSize: Self.pageSize)
    }

    public func interrupts() throws(CollectorError) -> UInt64 {
        try parseInterrupts(procStat: reader.read("stat"))
    }

    /// Resident memory of this process.
    public func residentBytes() throws(CollectorError) -> UInt64 {
        try parseResidentBytes(statm: reader.read("self/statm"), pageSize: Self.pageSize)
    }

    /// Builds a Sample from a CPU window that ended now: `cpuStart` was taken cpu-window ago by the caller.
    public func sample(sequence: UInt64, timestamp: Double, cpuStart: CPUTimes) throws(CollectorError) -> Sample {
        let procStat = try reader.read("stat")
        let cpuEnd = try CPUTimes.parse(procStat: procStat)
        let interrupts = try parseInterrupts(procStat: procStat)
        let memory = try memory()
        let resident = try residentBytes()
        return Sample(
            sequence: sequence,
            timestamp: timestamp,
            ramUsagePercent: memory.usedPercent,
            cpuUsagePercent: cpuEnd.busyPercent(since: cpuStart),
            processRAMGigabytes: Double(resident) / Double(1 << 30),
            cpuInterrupts: interrupts)
    }

    static var pageSize: Int {
        let size = sysconf(Int32(_SC_PAGESIZE))
        return size > 0 ? size : 4096
    }
}
