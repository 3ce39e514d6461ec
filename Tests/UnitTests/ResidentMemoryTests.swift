import Foundation
import Testing

@testable import MonitorSystem

@Suite("Resident memory: pages of code that ran once go back")
struct ResidentMemoryTests {
    @Test("only executable, private mappings of files are code; data, [vdso] and lines that do not parse are not")
    func codeMappingsOfAMapsFile() {
        let maps = """
            55d0c0000000-55d0c0200000 r--p 00000000 08:01 1234 /usr/bin/monitor-agent
            55d0c0200000-55d0c0a00000 r-xp 00200000 08:01 1234 /usr/bin/monitor-agent
            55d0c0a00000-55d0c0b00000 rw-p 00a00000 08:01 1234 /usr/bin/monitor-agent
            7f0000000000-7f0000021000 rw-p 00000000 00:00 0
            7f1000000000-7f1000180000 r-xp 00028000 08:01 99                        /usr/lib/x86_64-linux-gnu/libc.so.6
            7f2000000000-7f2000001000 r-xp 00000000 00:00 0                          [vdso]
            7f3000000000-7f3000001000 r-xs 00000000 08:01 7 /dev/shm/shared
            7f4000000000-7f4000010000 r-xp 00000000 08:01 8 /usr/bin/upgraded (deleted)
            zzzz-7f5000001000 r-xp 00000000 08:01 9 /bad/start
            7f6000001000-7f6000000000 r-xp 00000000 08:01 9 /bad/backwards
            ffffffffffffffffff-0 r-xp 00000000 08:01 9 /bad/overflow
            7f7000000000-7f7000001000 r-xp
            """
        let found = ResidentMemory.codeMappings(in: Array(maps.utf8))
        #expect(found.map(\.start) == [0x55d0_c020_0000, 0x7f10_0000_0000, 0x7f40_0000_0000])
        #expect(found.map(\.length) == [0x80_0000, 0x18_0000, 0x1_0000])
        #expect(ResidentMemory.codeMappings(in: []).isEmpty)
        #expect(ResidentMemory.codeMappings(in: Array(repeating: UInt8(ascii: " "), count: 4096)).isEmpty)
    }

    @Test("released in this process: its code leaves the RSS and runs on, faulted back in")
    func releasedInThisProcess() throws {
        func residentFileKiB() throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }
        let before = try residentFileKiB()
        let advised = ResidentMemory.releaseUnusedPages()
        let after = try residentFileKiB()
        #expect(advised > 0, "the test binary's own code is an executable mapping")
        #expect(after < before, "RssFile \(before) kB before, \(after) kB after")
        // The code runs on (this test, the formatting below): its pages come back from the page cache.
        #expect("\(advised)".count > 0)
        #expect(ResidentMemory.releaseUnusedPages(maps: "/nonexistent/maps") == 0)
    }
}
