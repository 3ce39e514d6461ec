import Glibc
import Logging
import Testing

@testable import MonitorSystem

@Suite struct SystemdLogFormatTests {
    @Test func theDocumentedExampleLine() throws {
        let seconds = try #require(Self.unixSeconds(year: 2026, month: 11, day: 25, hour: 9, minute: 0, second: 0))
        let line = LogLineFormat.line(
            unixSeconds: seconds, level: .info, identifier: "monitord", message: "agent connected",
            metadata: ["remote": "127.0.0.1:5555", "agent": "web-01"])
        #expect(line == "2026-11-25T09:00:00Z info monitord: agent connected agent=web-01 remote=127.0.0.1:5555")
    }

    /// Compares the arithmetic conversion with glibc's `gmtime_r` over dates that exercise leap
    /// years, century rules, the epoch, negative times and 2038.
    @Test(
        arguments: [
            0, 1, -1, 59, 86_399, 86_400, -86_400, 951_782_400, 951_868_799, 978_307_200, 2_147_483_647, 2_147_483_648,
            4_107_542_399, 1_795_683_600, -2_208_988_800, 253_402_300_799, 68_169_600, 1_709_164_800,
        ] as [Int64])
    func timestampsMatchGmtime(seconds: Int64) {
        #expect(LogLineFormat.timestamp(unixSeconds: seconds) == Self.gmtimeString(seconds))
    }

    @Test func timestampsMatchGmtimeAcrossManyDays() {
        var seconds: Int64 = -5_000_000_000
        while seconds < 9_000_000_000 {
            #expect(LogLineFormat.timestamp(unixSeconds: seconds) == Self.gmtimeString(seconds))
            seconds += 7_777_777
        }
    }

    @Test(arguments: [
        ("web-01", "web-01"),
        ("127.0.0.1:5555", "127.0.0.1:5555"),
        ("", "\"\""),
        ("two words", "\"two words\""),
        ("a=b", "\"a=b\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("back\\slash", "\"back\\\\slash\""),
        ("line\nbreak", "\"line\\nbreak\""),
        ("tab\there", "\"tab\\there\""),
        ("bell\u{7}", "\"bell\\u{7}\""),
    ])
    func valuesAreQuotedOnlyWhenNeeded(value: String, expected: String) {
        #expect(LogLineFormat.quoteIfNeeded(value) == expected)
    }

    @Test func aLineNeverContainsANewline() {
        let line = LogLineFormat.line(
            unixSeconds: 0, level: .warning, identifier: "monitord", message: "bad\nhello\r\u{2028}x",
            metadata: ["agent": "evil\n1970-01-01T00:00:00Z critical monitord: forged"])
        #expect(!line.contains { $0.isNewline })
        #expect(line.hasPrefix("1970-01-01T00:00:00Z warning monitord: bad\\nhello\\r\\u{2028}x agent=\"evil\\n"))
    }

    @Test func errorsAreAppended() {
        struct Unreachable: Error, CustomStringConvertible { var description: String { "connection refused" } }
        let line = LogLineFormat.line(
            unixSeconds: 0, level: .error, identifier: "monitor-agent", message: "server unreachable",
            metadata: ["retry-in": "2s"], error: Unreachable())
        #expect(
            line
                == "1970-01-01T00:00:00Z error monitor-agent: server unreachable retry-in=2s error=\"connection refused\""
        )
    }

    @Test func stderrHandlerWritesOneLinePerEventThroughTheLevelFilter() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        var handler = DaemonLogHandler(
            identifier: "monitord", backend: .stderr, logLevel: .info, fileDescriptor: ends[1])
        handler.metadata = ["component": "gateway", "agent": "overridden"]
        let logger = Logger(label: "test") { _ in handler }
        let before = Self.realtimeSeconds()
        logger.debug("not shown")
        logger.info("agent connected", metadata: ["agent": "web-01"])
        logger.error("two\nlines")
        let after = Self.realtimeSeconds()
        close(ends[1])

        let output = Self.readAll(ends[0])
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count == 3)
        #expect(lines[2] == "")
        let first = String(lines[0])
        let stamp = String(first.prefix(20))
        #expect(stamp >= LogLineFormat.timestamp(unixSeconds: before))
        #expect(stamp <= LogLineFormat.timestamp(unixSeconds: after))
        #expect(first.dropFirst(20) == " info monitord: agent connected agent=web-01 component=gateway")
        #expect(lines[1].dropFirst(20) == " error monitord: two\\nlines agent=overridden component=gateway")
    }

    private static func gmtimeString(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "gmtime failed" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = String(parts.tm_year + 1900)
        let paddedYear = String(repeating: "0", count: max(0, 4 - year.count)) + year
        return "\(paddedYear)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    private static func unixSeconds(year: Int32, month: Int32, day: Int32, hour: Int32, minute: Int32, second: Int32)
        -> Int64?
    {
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let result = timegm(&parts)
        return result == -1 ? nil : Int64(result)
    }

    private static func realtimeSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    private static func readAll(_ descriptor: Int32) -> String {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            collected.append(contentsOf: buffer[..<count])
        }
        return String(decoding: collected, as: UTF8.self)
    }
}
