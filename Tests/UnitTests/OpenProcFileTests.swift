import Foundation
import TestSupport
import Testing

@testable import AgentKit
@testable import MonitorSystem

/// The agent's kept-open `/proc` files: each read sees the file as it is now, whole.
@Suite struct OpenProcFileTests {
    func temporaryFile(_ text: String) throws -> String {
        let path = temporaryPath("open-proc")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func contents(_ file: OpenProcFile) throws -> String {
        try file.withContents { text in String(decoding: text.bytes, as: UTF8.self) }
    }

    @Test("a file rewritten between reads is read anew, through the same descriptor")
    func rereadsFromTheStart() throws {
        let path = try temporaryFile("cpu 1 2 3 4\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = OpenProcFile(path: path)
        #expect(try contents(file) == "cpu 1 2 3 4\n")
        // Same inode, new contents (as /proc generates its files on each read).
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("cpu 5 6 7 8 9\n".utf8))
        try handle.close()
        #expect(try contents(file) == "cpu 5 6 7 8 9\n")
        #expect(try file.withContents { text throws(ProcFileError) in try CPUTimes.parse(procStat: text) }.iowait == 9)
    }

    @Test("a file larger than the buffer (as /proc/stat of a large machine) is read whole")
    func growsForLargeFiles() throws {
        let line = "intr " + Array(repeating: "123456789", count: 2000).joined(separator: " ") + "\n"
        let text = "cpu 1 2 3 4\n" + line
        #expect(text.utf8.count > 16 * 1024)
        let path = try temporaryFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = OpenProcFile(path: path)
        #expect(try contents(file) == text)
        #expect(try contents(file) == text)
    }

    @Test("exactly at the limit is read, one byte over is refused with the file named")
    func limit() throws {
        let exact = try temporaryFile(String(repeating: "a", count: 10_000))
        let over = try temporaryFile(String(repeating: "a", count: 10_001))
        defer {
            try? FileManager.default.removeItem(atPath: exact)
            try? FileManager.default.removeItem(atPath: over)
        }
        #expect(try contents(OpenProcFile(path: exact, limit: 10_000)).utf8.count == 10_000)
        #expect(throws: ProcFileError(file: over, message: "file is larger than 10000 bytes")) {
            try contents(OpenProcFile(path: over, limit: 10_000))
        }
    }

    @Test("a missing file is an error naming it, at each read, until it appears")
    func missingFile() throws {
        let path = temporaryPath("absent")
        let file = OpenProcFile(path: path)
        for _ in 0..<2 {
            #expect(throws: ProcFileError(file: path, message: "cannot read: No such file or directory")) {
                try contents(file)
            }
        }
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try contents(file) == "x\n")
    }
}
