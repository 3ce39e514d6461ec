public import MonitorSystem

/// The two single numbers the collector reads from /proc (the larger readings are `CPUTimes` and
/// `MemoryInfo`).
extension SystemCollector {
    /// Interrupts serviced since boot, as psutil's `cpu_stats().interrupts`: the first number of the `intr` line.
    public static func parseInterrupts(procStat: String) throws(ProcFileError) -> UInt64 {
        try ProcText.withBytes(of: procStat) { text throws(ProcFileError) in try Self.parseInterrupts(procStat: text) }
    }

    static func parseInterrupts(procStat text: ProcText) throws(ProcFileError) -> UInt64 {
        guard var line = text.line(named: "intr") else {
            throw ProcFileError(file: "/proc/stat", message: "no \"intr\" line")
        }
        guard let word = line.nextWord() else {
            throw ProcFileError(file: "/proc/stat", message: "\"intr\" line has no total")
        }
        guard let total = ProcText.decimal(word) else {
            throw ProcFileError(
                file: "/proc/stat", message: "\"intr\" line has a bad total \(ProcText.text(word).quoted)")
        }
        return total
    }

    /// Resident set size in bytes, as psutil's `memory_info().rss`: the second field of `/proc/<pid>/statm`
    /// (in pages) times the page size.
    public static func parseResidentBytes(statm: String, pageSize: Int) throws(ProcFileError) -> UInt64 {
        try ProcText.withBytes(of: statm) { text throws(ProcFileError) in
            try Self.parseResidentBytes(statm: text, pageSize: pageSize)
        }
    }

    static func parseResidentBytes(statm text: ProcText, pageSize: Int) throws(ProcFileError) -> UInt64 {
        var words: (first: ProcText.Word?, second: ProcText.Word?) = (nil, nil)
        var count = 0
        try text.forEachLine { line throws(ProcFileError) in
            while let word = line.nextWord() {
                if count == 0 { words.first = word } else if count == 1 { words.second = word }
                count += 1
            }
        }
        guard let second = words.second else {
            throw ProcFileError(file: "/proc/self/statm", message: "expected at least 2 fields, found \(count)")
        }
        guard let pages = ProcText.decimal(second) else {
            throw ProcFileError(
                file: "/proc/self/statm", message: "bad resident page count \(ProcText.text(second).quoted)")
        }
        guard pageSize > 0 else {
            throw ProcFileError(file: "/proc/self/statm", message: "page size \(pageSize) is not positive")
        }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow else {
            throw ProcFileError(file: "/proc/self/statm", message: "resident size \(pages) pages overflows")
        }
        return bytes
    }
}
