public import MonitorModel
public import MonitorSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Takes the report's four metrics from `/proc`, without ever sleeping.
///
/// The report's agent blocked 4 s inside `cpu_percent(4)`. Here the caller keeps the CPU counters taken at
/// the start of the window and hands them back at its end, so the agent's event loop stays responsive.
/// The three files read every sample stay open (``OpenProcFile``) and are parsed in place.
public struct SystemCollector: Sendable {
    public var reader: ProcFileReader {
        didSet { files = OpenFiles(reader) }
    }
    private var files: OpenFiles

    /// `/proc/stat`, `/proc/meminfo` and `/proc/self/statm` under the reader's root.
    private final class OpenFiles: Sendable {
        let stat: OpenProcFile
        let meminfo: OpenProcFile
        let statm: OpenProcFile

        init(_ reader: ProcFileReader) {
            stat = OpenProcFile(path: reader.path("stat"))
            meminfo = OpenProcFile(path: reader.path("meminfo"))
            statm = OpenProcFile(path: reader.path("self/statm"))
        }
    }

    public init(reader: ProcFileReader = ProcFileReader()) {
        self.reader = reader
        self.files = OpenFiles(reader)
    }

    public func cpuTimes() throws(ProcFileError) -> CPUTimes {
        try files.stat.withContents { text throws(ProcFileError) in try CPUTimes.parse(procStat: text) }
    }

    public func memory() throws(ProcFileError) -> MemoryInfo {
        try files.meminfo.withContents { text throws(ProcFileError) in
            // zoneinfo is only needed on kernels without a usable MemAvailable; it is not read otherwise.
            try MemoryInfo.parse(text, zoneinfo: { try? reader.read("zoneinfo") }, pageSize: Self.pageSize)
        }
    }

    public func interrupts() throws(ProcFileError) -> UInt64 {
        try files.stat.withContents { text throws(ProcFileError) in try Self.parseInterrupts(procStat: text) }
    }

    /// Resident memory of this process.
    public func residentBytes() throws(ProcFileError) -> UInt64 {
        try files.statm.withContents { text throws(ProcFileError) in
            try Self.parseResidentBytes(statm: text, pageSize: Self.pageSize)
        }
    }

    /// Builds a Sample from a CPU window that ended now: `cpuStart` was taken cpu-window ago by the caller.
    public func sample(sequence: UInt64, timestamp: Double, cpuStart: CPUTimes) throws(ProcFileError) -> Sample {
        var sample = try sampleAndCPUTimes(timestamp: timestamp, cpuStart: cpuStart).sample
        sample.sequence = sequence
        return sample
    }

    /// A sample (numbered 0) over the CPU window from `cpuStart` to now, and the CPU counters of
    /// now, which start the next window when windows follow each other.
    func sampleAndCPUTimes(timestamp: Double, cpuStart: CPUTimes) throws(ProcFileError) -> (
        sample: Sample, cpuEnd: CPUTimes
    ) {
        let (cpuEnd, interrupts) = try files.stat.withContents { text throws(ProcFileError) in
            (try CPUTimes.parse(procStat: text), try Self.parseInterrupts(procStat: text))
        }
        let memory = try memory()
        let resident = try residentBytes()
        let sample = Sample(
            sequence: 0,
            timestamp: timestamp,
            ramUsagePercent: memory.usedPercent,
            cpuUsagePercent: cpuEnd.busyPercent(since: cpuStart),
            processRAMGigabytes: Double(resident) / Double(1 << 30),
            cpuInterrupts: interrupts)
        return (sample, cpuEnd)
    }

    /// The page size, asked once: `sysconf` is a libc call, and it cannot change.
    static let pageSize: Int = {
        let size = sysconf(Int32(_SC_PAGESIZE))
        return size > 0 ? size : 4096
    }()
}
