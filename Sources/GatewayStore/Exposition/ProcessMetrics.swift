import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway's own resource use, as the standard `process_*` families every Prometheus client library exports,
/// so existing dashboards and alerts for "a process" work on `monitord` unchanged.
public struct ProcessMetrics: Sendable, Hashable {
    /// User plus system CPU time consumed.
    public var cpuSecondsTotal: Double
    public var residentBytes: UInt64
    public var virtualBytes: UInt64
    /// Unix time at which the process started.
    public var startTimeSeconds: Double
    public var openFDs: UInt64
    /// The soft limit on open file descriptors (`RLIMIT_NOFILE`).
    public var maxFDs: UInt64

    public init(
        cpuSecondsTotal: Double, residentBytes: UInt64, virtualBytes: UInt64, startTimeSeconds: Double,
        openFDs: UInt64, maxFDs: UInt64
    ) {
        self.cpuSecondsTotal = cpuSecondsTotal
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.startTimeSeconds = startTimeSeconds
        self.openFDs = openFDs
        self.maxFDs = maxFDs
    }

    /// Reads the figures from `/proc`; `nil` when they cannot be read (not Linux, or `/proc` not mounted), in which
    /// case the page simply omits these families rather than exporting zeros.
    public static func current() -> ProcessMetrics? {
        #if os(Linux)
            let proc = ProcFileReader()
            guard let stat = (try? proc.bytes("self/stat")).flatMap(ProcessStat.init(parsing:)),
                let bootTime = Self.bootTime,
                let openFDs = try? proc.countDescriptors(inDirectory: "self/fd")
            else { return nil }
            let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
            let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 0))
            guard ticksPerSecond > 0 else { return nil }
            var limit = rlimit()
            let maxFDs =
                getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : 0
            return ProcessMetrics(
                cpuSecondsTotal: Double(stat.userTicks &+ stat.systemTicks) / ticksPerSecond,
                residentBytes: stat.residentPages.multipliedReportingOverflow(by: pageSize).partialValue,
                virtualBytes: stat.virtualBytes,
                startTimeSeconds: Double(bootTime) + Double(stat.startTicks) / ticksPerSecond,
                openFDs: openFDs,
                maxFDs: maxFDs
            )
        #else
            return nil
        #endif
    }

    /// The boot time never changes while the process runs, and `/proc/stat` holds a line per CPU and
    /// every interrupt count: read once, not at every scrape.
    private static let bootTime: UInt64? = (try? ProcFileReader().bytes("stat")).flatMap(
        ProcessStat.bootTime(inSystemStat:))
}
