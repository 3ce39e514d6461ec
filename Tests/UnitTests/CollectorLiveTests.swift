import Foundation
import TestSupport
import Testing

@testable import AgentKit
@testable import MonitorSystem

/// The collectors against the live `/proc` of the test machine and against temporary directories,
/// each value compared with one computed here independently (through Foundation) from the same files.
@Suite struct CollectorLiveTests {
    /// A `/proc`-like root with its `self` directory.
    func temporaryDirectory() throws -> String {
        let path = try makeTemporaryDirectory("proc")
        try FileManager.default.createDirectory(atPath: path + "/self", withIntermediateDirectories: true)
        return path
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// A field of a `key: value ...` file such as /proc/meminfo or /proc/self/status.
    func field(_ name: String, in text: String) -> Double? {
        for line in text.components(separatedBy: "\n") where line.hasPrefix(name + ":") {
            let words = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            return words.first.flatMap { Double($0) }
        }
        return nil
    }

    // MARK: ProcFileReader

    @Test func readerReadsFilesUnderItsRoot() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write("hello\n", to: root + "/stat")
        try write("1 2 3\n", to: root + "/self/statm")
        #expect(try ProcFileReader(root: root).read("stat") == "hello\n")
        #expect(try ProcFileReader(root: root + "/").read("self/statm") == "1 2 3\n")
    }

    @Test func readerReportsMissingFilesWithTheirPath() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: ProcFileError(file: root + "/meminfo", message: "cannot read: No such file or directory")) {
            try ProcFileReader(root: root).read("meminfo")
        }
        #expect(throws: ProcFileError(file: root + "/self", message: "cannot read: not a regular file")) {
            try ProcFileReader(root: root).read("self")
        }
    }

    @Test func readerRefusesInvalidUTF8() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data([0x63, 0x70, 0x75, 0xFF]).write(to: URL(fileURLWithPath: root + "/stat"))
        #expect(throws: ProcFileError(file: root + "/stat", message: "file is not valid UTF-8")) {
            try ProcFileReader(root: root).read("stat")
        }
    }

    @Test func readerIsBounded() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data(repeating: 0x41, count: ProcFileReader.maximumFileBytes).write(
            to: URL(fileURLWithPath: root + "/exact"))
        try Data(repeating: 0x41, count: ProcFileReader.maximumFileBytes + 1).write(
            to: URL(fileURLWithPath: root + "/over"))
        #expect(try ProcFileReader(root: root).read("exact").utf8.count == ProcFileReader.maximumFileBytes)
        #expect(throws: ProcFileError(file: root + "/over", message: "file is larger than 4 MiB")) {
            try ProcFileReader(root: root).read("over")
        }
        // A device never ends: it is refused before a byte is read (as a pipe, which would block).
        #expect(throws: ProcFileError(file: "/dev/zero", message: "cannot read: not a regular file")) {
            try ProcFileReader(root: "/dev").read("zero")
        }
    }

    @Test func readerReadsProcFilesThatReportSizeZero() throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: "/proc/stat")
        #expect((attributes[.size] as? Int) == 0)
        let text = try ProcFileReader().read("stat")
        #expect(text.hasPrefix("cpu "))
        #expect(text.contains("\nintr "))
    }

    @Test func collectorOverAFakeRootUsesItsFiles() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(CollectorParserTests.procStat, to: root + "/stat")
        try write(CollectorParserTests.meminfo, to: root + "/meminfo")
        try write("765 404 376 5 0 123 0\n", to: root + "/self/statm")
        let collector = SystemCollector(reader: ProcFileReader(root: root))
        let start = CPUTimes(
            user: 39250 - 30, system: 8937 - 10, idle: 49810 - 60, iowait: 344, softirq: 107, steal: 50)
        let sample = try collector.sample(sequence: 7, timestamp: 1234.5, cpuStart: start)
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        #expect(sample.sequence == 7)
        #expect(sample.timestamp == 1234.5)
        #expect(sample.cpuUsagePercent == 40)  // 40 busy of 100 ticks
        #expect(
            sample.ramUsagePercent
                == CollectorParserTests.printfRounded(Double(24_684_092 - 24_072_992) / 24_684_092 * 100))
        #expect(sample.processRAMGigabytes == 404 * pageSize / 1_073_741_824)
        #expect(sample.cpuInterrupts == 438_589)
    }

    @Test func collectorEstimatesAvailableMemoryFromZoneinfoOnOldKernels() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(
            "MemTotal: 1000 kB\nMemFree: 500 kB\nActive(file): 0 kB\nInactive(file): 0 kB\nSReclaimable: 0 kB\n",
            to: root + "/meminfo")
        try write("  low 10\n", to: root + "/zoneinfo")
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let memory = try SystemCollector(reader: ProcFileReader(root: root)).memory()
        #expect(memory.availableBytes == 500 * 1024 - 10 * pageSize)
    }

    @Test func collectorReportsMissingFiles() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let collector = SystemCollector(reader: ProcFileReader(root: root))
        #expect(throws: ProcFileError(file: root + "/stat", message: "cannot read: No such file or directory")) {
            try collector.sample(sequence: 1, timestamp: 0, cpuStart: CPUTimes())
        }
        try write(CollectorParserTests.procStat, to: root + "/stat")
        #expect(throws: ProcFileError(file: root + "/meminfo", message: "cannot read: No such file or directory")) {
            try collector.sample(sequence: 1, timestamp: 0, cpuStart: CPUTimes())
        }
        try write(CollectorParserTests.meminfo, to: root + "/meminfo")
        #expect(throws: ProcFileError(file: root + "/self/statm", message: "cannot read: No such file or directory")) {
            try collector.sample(sequence: 1, timestamp: 0, cpuStart: CPUTimes())
        }
    }

    // MARK: Live /proc

    @Test func liveMemoryMatchesMeminfo() throws {
        let memory = try SystemCollector().memory()
        let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let total = try #require(field("MemTotal", in: text)) * 1024
        let available = try #require(field("MemAvailable", in: text)) * 1024
        #expect(Double(memory.totalBytes) == total)
        // Memory moves between the two reads; a few MiB of slack.
        #expect(abs(Double(memory.availableBytes) - available) < 64 * 1_048_576)
        #expect(abs(memory.usedPercent - (total - available) / total * 100) < 0.5)
    }

    @Test func liveCPUTimesMatchProcStat() throws {
        let before = try SystemCollector().cpuTimes()
        let text = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
        let after = try SystemCollector().cpuTimes()
        let columns = try #require(text.components(separatedBy: "\n").first { $0.hasPrefix("cpu ") })
            .split(separator: " ").dropFirst().compactMap { UInt64($0) }
        let fields = [
            \CPUTimes.user, \.nice, \.system, \.idle, \.iowait, \.irq, \.softirq, \.steal, \.guest, \.guestNice,
        ]
        for (index, keyPath) in fields.enumerated() where index < columns.count {
            #expect(before[keyPath: keyPath] <= columns[index] && columns[index] <= after[keyPath: keyPath])
        }
        #expect((0...100).contains(after.busyPercent(since: before)))
    }

    @Test func liveInterruptsAndResidentSize() throws {
        let collector = SystemCollector()
        let interrupts = try collector.interrupts()
        let text = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
        let line = try #require(text.components(separatedBy: "\n").first { $0.hasPrefix("intr ") })
        let independent = try #require(UInt64(line.split(separator: " ")[1]))
        #expect(interrupts <= independent)
        #expect(try collector.interrupts() >= independent)

        let resident = try collector.residentBytes()
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let vmRSS = try #require(field("VmRSS", in: status)) * 1024
        // Same counter seen through two files at slightly different times.
        #expect(abs(Double(resident) - vmRSS) < 32 * 1_048_576)
    }

    @Test func liveSampleIsSensible() throws {
        let collector = SystemCollector()
        let start = try collector.cpuTimes()
        let sample = try collector.sample(sequence: 1, timestamp: 1.5, cpuStart: start)
        #expect((0...100).contains(sample.cpuUsagePercent))
        #expect((0...100).contains(sample.ramUsagePercent))
        #expect(sample.processRAMGigabytes > 0 && sample.processRAMGigabytes < 4)
        #expect(sample.cpuInterrupts > 0)
    }
}
