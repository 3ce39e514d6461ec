import Foundation
import Testing

@testable import AgentKit
@testable import MonitorSystem

/// `/proc` formats as real kernels write them, and the ways they can be odd.
@Suite struct CollectorParserTests {
    /// Captured from the development machine (Linux 6.x, 2 CPUs), truncated `intr` line.
    static let procStat = """
        cpu  39250 0 8937 49810 344 0 107 50 0 0
        cpu0 18834 0 4166 26157 44 0 21 26 0 0
        cpu1 20416 0 4770 23652 300 0 86 23 0 0
        intr 438589 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 14 0 0 0 0 98 68 0 20 1 136084 0 3234
        ctxt 1007062
        btime 1795596527
        processes 33500
        procs_running 3
        procs_blocked 1
        softirq 352504 0 39720 4 5705 136080 0 8 37282 0 133705

        """

    /// Captured from the development machine, first lines (the rest does not matter to the collector).
    static let meminfo = """
        MemTotal:       24684092 kB
        MemFree:        21468356 kB
        MemAvailable:   24072992 kB
        Buffers:           44020 kB
        Cached:          2656312 kB
        SwapCached:            0 kB
        Active:          1155336 kB
        Inactive:        1574024 kB
        Active(anon):       1544 kB
        Inactive(anon):    36352 kB
        Active(file):    1153792 kB
        Inactive(file):  1537672 kB
        SReclaimable:     213180 kB
        HugePages_Total:       0
        Hugepagesize:       2048 kB

        """

    /// Python's `round(x, 1)` computed independently: glibc's printf rounds the exact binary value, ties to even.
    static func printfRounded(_ value: Double) -> Double {
        Double(String(format: "%.1f", value))!
    }

    // MARK: /proc/stat cpu line

    @Test func realProcStat() throws {
        let times = try CPUTimes.parse(procStat: Self.procStat)
        #expect(
            times
                == CPUTimes(
                    user: 39250, nice: 0, system: 8937, idle: 49810, iowait: 344, irq: 0, softirq: 107, steal: 50,
                    guest: 0, guestNice: 0))
    }

    @Test func oldKernelsWithoutLaterColumns() throws {
        // Linux 2.4: 4 columns; 2.6: 7; 2.6.11: + steal; 2.6.24: + guest.
        #expect(try CPUTimes.parse(procStat: "cpu  1 2 3 4\n") == CPUTimes(user: 1, nice: 2, system: 3, idle: 4))
        #expect(
            try CPUTimes.parse(procStat: "cpu 1 2 3 4 5 6 7\nintr 1\n")
                == CPUTimes(user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7))
        #expect(try CPUTimes.parse(procStat: "cpu 1 2 3 4 5 6 7 8").steal == 8)
        #expect(try CPUTimes.parse(procStat: "cpu 1 2 3 4 5 6 7 8 9").guest == 9)
    }

    @Test func futureColumnsAreIgnored() throws {
        #expect(try CPUTimes.parse(procStat: "cpu 1 2 3 4 5 6 7 8 9 10 11 12\n").guestNice == 10)
    }

    @Test func aggregateLineIsFoundAnywhere() throws {
        #expect(
            try CPUTimes.parse(procStat: "intr 5\ncpu0 9 9 9 9\ncpu\t1 2 3 4\n")
                == CPUTimes(user: 1, nice: 2, system: 3, idle: 4))
    }

    @Test(arguments: [
        ("cpu0 1 2 3 4\nintr 1\n", "no aggregate \"cpu\" line"),
        ("", "no aggregate \"cpu\" line"),
        ("cpu 1 2 3\n", "\"cpu\" line has 3 columns, expected at least 4"),
        ("cpu 1 2 x 4\n", "\"cpu\" line has a bad value \"x\""),
        ("cpu 1 2 -1 4\n", "\"cpu\" line has a bad value \"-1\""),
        ("cpu 18446744073709551616 2 3 4\n", "\"cpu\" line has a bad value \"18446744073709551616\""),
    ])
    func badCPULines(procStat: String, message: String) {
        #expect(throws: ProcFileError(file: "/proc/stat", message: message)) { try CPUTimes.parse(procStat: procStat) }
    }

    // MARK: psutil's cpu_percent arithmetic

    @Test func busyIsTotalMinusIdleAndIOWait() {
        let start = CPUTimes(
            user: 100, nice: 100, system: 100, idle: 100, iowait: 100, irq: 100, softirq: 100, steal: 100)
        var end = start
        end.user += 30
        end.system += 10
        end.idle += 50
        end.iowait += 10
        // total 100 ticks, busy 40.
        #expect(end.busyPercent(since: start) == 40)
    }

    @Test func guestTimeIsNotCountedTwice() {
        let start = CPUTimes()
        // 20 of the 50 user ticks were spent in a guest; the kernel reports them in both columns.
        let end = CPUTimes(user: 50, idle: 50, guest: 20)
        #expect(end.busyPercent(since: start) == 50)
        let niced = CPUTimes(nice: 25, idle: 75, guestNice: 25)
        #expect(niced.busyPercent(since: start) == 25)
    }

    @Test func counterGoingBackwardsCountsAsZero() {
        let start = CPUTimes(user: 1000, idle: 0)
        let end = CPUTimes(user: 990, system: 10, idle: 30)
        #expect(end.busyPercent(since: start) == 25)
    }

    @Test func noElapsedTicksIsZero() throws {
        let times = try CPUTimes.parse(procStat: Self.procStat)
        #expect(times.busyPercent(since: times) == 0)
        #expect(CPUTimes().busyPercent(since: times) == 0)
    }

    @Test func percentIsClampedAndRounded() {
        // Only guest ticks elapsed without matching user ticks (inconsistent counters): total <= 0 -> 0.
        #expect(CPUTimes(guest: 10).busyPercent(since: CPUTimes()) == 0)
        // Guest ticks appear in their own column and inside user; only the user ones count: 1 of 11.
        #expect(CPUTimes(user: 1, idle: 10, guest: 5).busyPercent(since: CPUTimes()) == Self.printfRounded(100.0 / 11))
        // 1 of 3 ticks busy.
        #expect(CPUTimes(user: 1, idle: 2).busyPercent(since: CPUTimes()) == Self.printfRounded(100.0 / 3))
        #expect(CPUTimes(user: 7).busyPercent(since: CPUTimes()) == 100)
    }

    @Test func hugeCountersDoNotTrap() {
        let max = UInt64.max
        let end = CPUTimes(
            user: max, nice: max, system: max, idle: max, iowait: max, irq: max, softirq: max, steal: max, guest: max,
            guestNice: max)
        let percent = end.busyPercent(since: CPUTimes())
        #expect((0...100).contains(percent))
    }

    // MARK: Rounding as Python's round(x, 1)

    @Test(arguments: [
        0.15, 0.25, 0.35, 0.45, 2.675, 1.05, 58.45, 58.35, 99.95, 0.05, 12.25, 33.333333333333336, 0, 100,
    ])
    func roundingMatchesExactDecimalRounding(value: Double) {
        #expect(value.roundedToOneDecimal == Self.printfRounded(value))
    }

    @Test func roundingMatchesOnManyRatios() {
        // Every busy/total ratio of small tick counts, the values cpu_percent and virtual_memory produce.
        for total in 1...400 {
            for busy in 0...total {
                let value = Double(busy) / Double(total) * 100
                #expect(value.roundedToOneDecimal == Self.printfRounded(value), "\(busy)/\(total)")
            }
        }
    }

    // MARK: /proc/meminfo

    @Test func realMeminfo() throws {
        let memory = try MemoryInfo.parse(Self.meminfo)
        #expect(memory == MemoryInfo(totalBytes: 24_684_092 * 1024, availableBytes: 24_072_992 * 1024))
        #expect(memory.usedPercent == Self.printfRounded(Double(24_684_092 - 24_072_992) / 24_684_092 * 100))
    }

    @Test func fieldsAfterAUsableMemAvailableAreNotRead() throws {
        // The parser stops at MemAvailable: what follows can neither cost time nor fail a sample.
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 500 kB\nCached: lots kB\nSReclaimable: kB kB\n"
        #expect(try MemoryInfo.parse(text) == MemoryInfo(totalBytes: 1000 * 1024, availableBytes: 500 * 1024))
        // Without a usable MemAvailable the estimate needs Cached, whose bad value is then an error.
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 0 kB\nCached: lots kB\n"
        #expect(throws: ProcFileError(file: "/proc/meminfo", message: "Cached has a bad value \"lots\"")) {
            try MemoryInfo.parse(old)
        }
    }

    @Test func missingMemAvailableFallsBackToFreePlusCached() throws {
        // Linux before 3.14 and without zoneinfo: psutil's fallback.
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 300 kB\nBuffers: 50 kB\n"
        #expect(try MemoryInfo.parse(old).availableBytes == 400 * 1024)
    }

    @Test func missingMemAvailableIsEstimatedFromZoneinfo() throws {
        let text = """
            MemTotal: 100000 kB
            MemFree: 20000 kB
            MemAvailable: 0 kB
            Cached: 30000 kB
            Active(file): 10000 kB
            Inactive(file): 6000 kB
            SReclaimable: 4000 kB
            """
        let zoneinfo = """
            Node 0, zone      DMA
              pages free     3976
                    min      33
                    low      41
                    high     49
            Node 0, zone   Normal
                    low      959
            """
        let memory = try MemoryInfo.parse(text, zoneinfo: zoneinfo, pageSize: 4096)
        // The kernel's estimate, as psutil computes it:
        let watermarkLow = Double(41 + 959) * 4096
        let pageCache = Double(16000 * 1024) - min(Double(16000 * 1024) / 2, watermarkLow)
        let slab = Double(4000 * 1024) - min(Double(4000 * 1024) / 2, watermarkLow)
        let expected = Double(20000 * 1024) - watermarkLow + pageCache + slab
        #expect(memory.availableBytes == UInt64(expected))
    }

    @Test func availableAboveTotalBecomesFree() throws {
        // Containers can report a host-wide MemAvailable above their own MemTotal.
        let text = "MemTotal: 1000 kB\nMemFree: 600 kB\nMemAvailable: 5000 kB\n"
        #expect(try MemoryInfo.parse(text).availableBytes == 600 * 1024)
    }

    @Test func negativeEstimateBecomesZero() throws {
        let text = "MemTotal: 1000 kB\nMemFree: 10 kB\nActive(file): 0 kB\nInactive(file): 0 kB\nSReclaimable: 0 kB\n"
        let memory = try MemoryInfo.parse(text, zoneinfo: "  low 1000\n", pageSize: 4096)
        #expect(memory.availableBytes == 0)
        #expect(memory.usedPercent == 100)
    }

    @Test func zeroTotalIsZeroPercent() {
        #expect(MemoryInfo(totalBytes: 0, availableBytes: 0).usedPercent == 0)
        #expect(MemoryInfo(totalBytes: 10, availableBytes: 20).usedPercent == 0)
    }

    @Test func badMeminfo() {
        #expect(throws: ProcFileError(file: "/proc/meminfo", message: "MemTotal is missing")) {
            try MemoryInfo.parse("MemFree: 1 kB\nMemAvailable: 1 kB\n")
        }
        #expect(throws: ProcFileError(file: "/proc/meminfo", message: "MemFree is missing")) {
            try MemoryInfo.parse("MemTotal: 1 kB\nMemAvailable: 1 kB\n")
        }
        #expect(throws: ProcFileError(file: "/proc/meminfo", message: "MemTotal has a bad value \"lots\"")) {
            try MemoryInfo.parse("MemTotal: lots kB\n")
        }
        #expect(
            throws: ProcFileError(file: "/proc/meminfo", message: "MemAvailable has a bad value \"18014398509481984\"")
        ) {
            // 2^54 KiB overflows bytes in 64 bits.
            try MemoryInfo.parse("MemTotal: 1 kB\nMemFree: 1 kB\nMemAvailable: 18014398509481984 kB\n")
        }
        #expect(throws: ProcFileError(file: "/proc/meminfo", message: "MemTotal is missing")) {
            try MemoryInfo.parse("garbage\n\u{0}\n::\nMemTotal:\n")
        }
    }

    // MARK: intr and statm

    @Test func realInterrupts() throws {
        #expect(try SystemCollector.parseInterrupts(procStat: Self.procStat) == 438_589)
    }

    @Test(arguments: [
        ("cpu 1 2 3 4\n", "no \"intr\" line"),
        ("intr\n", "\"intr\" line has no total"),
        ("intr 1.5 0\n", "\"intr\" line has a bad total \"1.5\""),
    ])
    func badInterrupts(procStat: String, message: String) {
        #expect(throws: ProcFileError(file: "/proc/stat", message: message)) {
            try SystemCollector.parseInterrupts(procStat: procStat)
        }
    }

    @Test func realStatm() throws {
        #expect(try SystemCollector.parseResidentBytes(statm: "765 404 376 5 0 123 0\n", pageSize: 4096) == 404 * 4096)
        #expect(try SystemCollector.parseResidentBytes(statm: "765 404", pageSize: 65536) == 404 * 65536)
    }

    @Test(arguments: [
        ("765\n", 4096, "expected at least 2 fields, found 1"),
        ("765 x 1", 4096, "bad resident page count \"x\""),
        ("765 1 1", 0, "page size 0 is not positive"),
        ("1 18446744073709551615 1", 4096, "resident size 18446744073709551615 pages overflows"),
    ])
    func badStatm(statm: String, pageSize: Int, message: String) {
        #expect(throws: ProcFileError(file: "/proc/self/statm", message: message)) {
            try SystemCollector.parseResidentBytes(statm: statm, pageSize: pageSize)
        }
    }

    @Test func errorDescriptionNamesTheFile() {
        #expect(
            ProcFileError(file: "/proc/stat", message: "no \"intr\" line").description
                == "/proc/stat: no \"intr\" line")
    }
}
