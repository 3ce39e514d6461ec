import Foundation
import TestSupport
import Testing

@testable import GatewayStore
@testable import MonitorSystem

@Suite struct ExpositionProcessTests {
    @Test func currentFiguresDescribeThisProcess() throws {
        let metrics = try #require(ProcessMetrics.current())
        let now = Date().timeIntervalSince1970
        #expect(metrics.startTimeSeconds <= now + 1)
        #expect(now - metrics.startTimeSeconds < 3600, "the test process started within the hour")
        // The same figure as the kernel's accounting through another interface (getrusage), to the
        // clock tick (10 ms) plus what the process spent between the two reads.
        var usage = rusage()
        try #require(getrusage(RUSAGE_SELF.rawValue, &usage) == 0)
        let rusageSeconds =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        #expect(
            abs(metrics.cpuSecondsTotal - rusageSeconds) < 0.5, "\(metrics.cpuSecondsTotal) s vs \(rusageSeconds) s")
        #expect(metrics.residentBytes > 0 && metrics.residentBytes <= metrics.virtualBytes)
        #expect(metrics.openFDs >= 3 && metrics.openFDs <= metrics.maxFDs)
    }

    @Test func openedFilesAreCounted() throws {
        let before = try #require(ProcessMetrics.current()).openFDs
        let opened = (0..<64).map { _ in open("/proc/self/stat", O_RDONLY) }
        defer { for descriptor in opened where descriptor >= 0 { close(descriptor) } }
        try #require(opened.allSatisfy { $0 >= 0 })
        let after = try #require(ProcessMetrics.current()).openFDs
        // Tests running in parallel open and close a few descriptors of their own, hence the slack.
        #expect(after >= before + 64 - 16)
        #expect(after <= before + 64 + 16)
    }

    @Test func descriptorCountFromTheDirectorySizeMatchesTheListing() throws {
        // A thousand descriptors, as a gateway with many agents holds: both ways must agree.
        let opened = (0..<1000).map { _ in open("/dev/null", O_RDONLY) }
        defer { for descriptor in opened where descriptor >= 0 { close(descriptor) } }
        try #require(opened.allSatisfy { $0 >= 0 })
        let proc = ProcFileReader()
        let counted = try proc.countDescriptors(inDirectory: "self/fd")
        let listed = try proc.countEntries(inDirectory: "self/fd")
        #expect(counted >= 1000)
        // Tests running in parallel open and close a few descriptors of their own, hence the slack.
        #expect(counted + 16 >= listed && counted <= listed + 16, "\(counted) counted, \(listed) listed")
        // On Linux 6.2 and later the size is used (one stat, not a dentry per descriptor).
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) {
            String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let version = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix(while: \.isNumber)) }
        if version.count == 2, version[0] > 6 || (version[0] == 6 && version[1] >= 2) {
            #expect(proc.descriptorCountFromSize("self/fd") != nil, "kernel \(release) reports /proc/self/fd's size")
        }
    }

    @Test func descriptorCountOfAnOrdinaryDirectoryIsItsListing() throws {
        // An ordinary directory's size is bytes of storage (4096 here), never taken for a count.
        let directory = try URL(fileURLWithPath: makeTemporaryDirectory("monitord-descriptors"))
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["0", "1", "2"] {
            try Data().write(to: directory.appendingPathComponent(name))
        }
        let proc = ProcFileReader(root: directory.path)
        #expect(proc.descriptorCountFromSize(".") == nil)
        #expect(try proc.countDescriptors(inDirectory: ".") == 3)
    }

    @Test func statLineIsParsedFromTheLastParenthesis() throws {
        // Field numbers per proc(5); the command name contains ") " to trap naive splitting.
        var fields = (3...52).map { String($0 * 10) }
        fields[14 - 3] = "250"
        fields[15 - 3] = "50"
        fields[22 - 3] = "12345"
        fields[23 - 3] = "1048576"
        fields[24 - 3] = "300"
        let line = "4242 (evil) (name) 9 " + fields.dropFirst().joined(separator: " ") + "\n"
        let stat = try #require(ProcessStat(parsing: Array(line.utf8)))
        #expect(stat == ProcessStat(userTicksForTest: 250, 50, 12345, 1_048_576, 300))
    }

    @Test(arguments: ["", "no parenthesis at all", "1 (x) R 1 2", "1 (x) R " + String(repeating: "z ", count: 40)])
    func malformedStatLinesAreRejected(line: String) {
        #expect(ProcessStat(parsing: Array(line.utf8)) == nil)
    }

    @Test func bootTimeIsFoundOnItsLine() {
        let stat = "cpu  1 2 3\nintr 5 6\nbtime 1717000000\nprocesses 9\n"
        #expect(ProcessStat.bootTime(inSystemStat: Array(stat.utf8)) == 1_717_000_000)
        #expect(ProcessStat.bootTime(inSystemStat: Array("cpu 1\n".utf8)) == nil)
        #expect(ProcessStat.bootTime(inSystemStat: Array("btime x\n".utf8)) == nil)
    }

    @Test(
        arguments: [
            ("0", UInt64(0)), ("18446744073709551615", UInt64.max), ("18446744073709551616", nil), ("", nil),
            ("12a", nil), ("-1", nil),
        ] as [(String, UInt64?)])
    func unsignedNumbersAreParsedWithoutOverflow(text: String, expected: UInt64?) {
        #expect(ASCIIDecimal.parse(Array(text.utf8)) == expected)
    }

    @Test func missingFilesAndDirectoriesAreNamedInTheError() {
        let proc = ProcFileReader(root: "/nonexistent/monitord-test")
        #expect(throws: ProcFileError.self) { try proc.bytes("stat") }
        let error = #expect(throws: ProcFileError.self) { try proc.countEntries(inDirectory: "self/fd") }
        #expect(error?.file == "/nonexistent/monitord-test/self/fd")
    }

    @Test func directoryEntriesAreCounted() throws {
        let directory = try URL(fileURLWithPath: makeTemporaryDirectory("monitord-entries"))
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["a", "b", "c"] {
            try Data().write(to: directory.appendingPathComponent(name))
        }
        #expect(try ProcFileReader(root: directory.path).countEntries(inDirectory: ".") == 3)
    }
}

extension ProcessStat {
    fileprivate init(userTicksForTest user: UInt64, _ system: UInt64, _ start: UInt64, _ virtual: UInt64, _ rss: UInt64)
    {
        let fields = (3...24).map { number -> String in
            switch number {
            case 14: String(user)
            case 15: String(system)
            case 22: String(start)
            case 23: String(virtual)
            case 24: String(rss)
            default: "0"
            }
        }
        self.init(parsing: Array(("1 (x) " + fields.joined(separator: " ")).utf8))!
    }
}
