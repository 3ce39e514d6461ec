import MonitorConfig

/// Interrupts serviced since boot, as psutil's `cpu_stats().interrupts`: the first number of the `intr` line.
public func parseInterrupts(procStat: String) throws(CollectorError) -> UInt64 {
    try ProcText.withBytes(of: procStat) { text throws(CollectorError) in try parseInterrupts(procStat: text) }
}

func parseInterrupts(procStat text: ProcText) throws(CollectorError) -> UInt64 {
    guard var line = text.line(named: "intr") else {
        throw CollectorError(file: "/proc/stat", message: "no \"intr\" line")
    }
    guard let word = line.nextWord() else {
        throw CollectorError(file: "/proc/stat", message: "\"intr\" line has no total")
    }
    guard let total = ProcText.decimal(word) else {
        throw CollectorError(
            file: "/proc/stat", message: "\"intr\" line has a bad total \(quoted(ProcText.text(word)))")
    }
    return total
}

/// Resident set size in bytes, as psutil's `memory_info().rss`: the second field of `/proc/<pid>/statm`
/// (in pages) times the page size.
public func parseResidentBytes(statm: String, pageSize: Int) throws(CollectorError) -> UInt64 {
    try ProcText.withBytes(of: statm) { text throws(CollectorError) in
        try parseResidentBytes(statm: text, pageSize: pageSize)
    }
}

func parseResidentBytes(statm text: ProcText, pageSize: Int) throws(CollectorError) -> UInt64 {
    var words: (first: ProcText.Word?, second: ProcText.Word?) = (nil, nil)
    var count = 0
    try text.forEachLine { line throws(CollectorError) in
        while let word = line.nextWord() {
            if count == 0 { words.first = word } else if count == 1 { words.second = word }
            count += 1
        }
    }
    guard let second = words.second else {
        throw CollectorError(file: "/proc/self/statm", message: "expected at least 2 fields, found \(count)")
    }
    guard let pages = ProcText.decimal(second) else {
        throw CollectorError(
            file: "/proc/self/statm", message: "bad resident page count \(quoted(ProcText.text(second)))")
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
