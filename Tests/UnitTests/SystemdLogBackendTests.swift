import Glibc
import Testing

@testable import MonitorSystem

@Suite struct SystemdLogBackendTests {
    @Test func withoutJournalStreamLogsGoToStderr() {
        #expect(LogBackend.detect(environment: [:]) == .stderr)
    }

    @Test func aJournalStreamMatchingStderrSelectsTheJournal() throws {
        let (descriptor, identity) = try Self.openPipe()
        defer { close(descriptor) }
        #expect(LogBackend.detect(environment: ["JOURNAL_STREAM": identity], stderrDescriptor: descriptor) == .journal)
    }

    @Test func anInheritedStreamForAnotherFileIsIgnored() throws {
        let (first, _) = try Self.openPipe()
        let (second, secondIdentity) = try Self.openPipe()
        defer {
            close(first)
            close(second)
        }
        #expect(LogBackend.detect(environment: ["JOURNAL_STREAM": secondIdentity], stderrDescriptor: first) == .stderr)
    }

    @Test(arguments: ["", "12", "a:b", "1:2:3", ":5", "5:", "-1:2"])
    func malformedStreamsFallBackToStderr(value: String) throws {
        let (descriptor, _) = try Self.openPipe()
        defer { close(descriptor) }
        #expect(LogBackend.detect(environment: ["JOURNAL_STREAM": value], stderrDescriptor: descriptor) == .stderr)
    }

    @Test func aClosedStderrFallsBackToStderr() {
        #expect(LogBackend.detect(environment: ["JOURNAL_STREAM": "1:1"], stderrDescriptor: -1) == .stderr)
    }

    @Test func processEnvironmentIsReadFromEnviron() {
        let environment = ProcessEnvironment.current()
        if let path = getenv("PATH") {
            #expect(environment["PATH"] == String(cString: path))
        } else {
            #expect(environment["PATH"] == nil)
        }
        #expect(!environment.keys.contains { $0.contains("=") })
    }

    /// The read end of a new pipe (the write end is closed) and its `device:inode`, as systemd
    /// would announce it in `$JOURNAL_STREAM`.
    private static func openPipe() throws -> (Int32, String) {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        close(ends[1])
        var status = stat()
        try #require(fstat(ends[0], &status) == 0)
        return (ends[0], "\(status.st_dev):\(status.st_ino)")
    }
}
