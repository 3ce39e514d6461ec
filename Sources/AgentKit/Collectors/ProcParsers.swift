import MonitorConfig

/// Interrupts serviced since boot, as psutil's `cpu_stats().interrupts`: the first number of the `intr` line.
public func parseInterrupts(procStat: String) throws(CollectorError) -> UInt64 {
    guard let words = procStatLine(named: "intr", in: procStat) else {
        throw CollectorError(file: "/proc/stat", message: "no \"intr\" line")
    }
    guard words.count >= 2 else {
        throw CollectorError(file: "/proc/stat", message: "\"intr\" line has no total")
    }
    guard let total = UInt64(words[1]) else {
        throw CollectorError(file: "/proc/stat", message: "\"intr\" line has a bad total \(quoted(words[1]))")
    }
    return total
}

/// Resident set size in bytes, as psutil's `memory_info().rss`: the second field of `/proc/<pid>/statm`
/// (in pages) times the page size.
public func parseResidentBytes(statm: String, pageSize: Int) throws(CollectorError) -> UInt64 {
    let words = statm.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
    guard words.count >= 2 else {
        throw CollectorError(file: "/proc/self/statm", message: "expected at least 2 fields, found \(words.count)")
    }
    guard let pages = UInt64(words[1]) else {
        throw CollectorError(file: "/proc/self/statm", message: "bad resident page count \(quoted(words[1]))")
    }
    guard pageSize > 0 else {
        throw CollectorError(file: "/proc/self/statm", message: "page size \(pageSize) is not positive")
    }
    let (bytes, overflow) = pages.multipliedReportingOverflow(by: UInt64(pageSize))
    guard !overflow else {
        throw CollectorError(file: "/proc/self/statm", message: "resident size \(pages) pages overflows")
    }
    return bytes
}
