import Testing

@testable import MonitorConfig
@testable import MonitorModel

@Suite struct ConfigValueTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("5s", .seconds(5)), ("2m", .seconds(120)), ("1h", .seconds(3600)),
        ("1.5s", .milliseconds(1500)), ("0.25m", .seconds(15)), ("1.5h", .seconds(5400)), ("0.5ms", .microseconds(500)),
        ("0.000000001s", .nanoseconds(1)), ("007s", .seconds(7)), ("1.0s", .seconds(1)),
    ])
    func durationsWithUnits(text: String, expected: Duration) {
        #expect(Duration(configurationText: text) == expected)
    }

    @Test(arguments: [
        "", "30", "s", "5", "5 s", " 5s", "5S", "-5s", "+5s", "0s", "0ms", "0.0s", "1.s", ".5s", "1..5s", "1.2.3s",
        "5d", "5sec", "5ms5", "1e3s", "0.0000000001s", "١s", "9999999999999999999s", "9223372036854775807ms",
        "5000000h", "abc",
    ])
    func durationGarbageAndOverflowAreRejected(text: String) {
        #expect(Duration(configurationText: text) == nil)
    }

    @Test func largestDurationFittingIn64BitNanosecondsIsAccepted() {
        // 2^63 - 1 ns is about 292 years; 2562047h is just below it, 2562048h just above.
        #expect(Duration(configurationText: "2562047h") == .seconds(Int64(2_562_047) * 3600))
        #expect(Duration(configurationText: "2562048h") == nil)
    }

    @Test(arguments: [
        Duration.milliseconds(500), .seconds(5), .seconds(120), .seconds(3600), .milliseconds(1500),
        .nanoseconds(1), .nanoseconds(1_000_000_001), .seconds(90), .seconds(7200 + 60),
    ])
    func renderedDurationsParseBack(duration: Duration) {
        #expect(Duration(configurationText: duration.configurationText) == duration)
    }

    @Test func renderedDurationsUseTheLargestExactUnit() {
        #expect(Duration.seconds(3600).configurationText == "1h")
        #expect(Duration.seconds(90).configurationText == "90s")
        #expect(Duration.seconds(120).configurationText == "2m")
        #expect(Duration.milliseconds(1500).configurationText == "1500ms")
        #expect(Duration.nanoseconds(1_500_000_001).configurationText == "1.500000001s")
    }

    @Test(arguments: [
        ("0.0.0.0:5578", HostPort(host: "0.0.0.0", port: 5578)),
        ("localhost:5578", HostPort(host: "localhost", port: 5578)),
        ("[::1]:5578", HostPort(host: "::1", port: 5578)),
        ("[fe80::1%eth0]:1", HostPort(host: "fe80::1%eth0", port: 1)),
        ("gw-1.example.org:0", HostPort(host: "gw-1.example.org", port: 0)),
        ("h:65535", HostPort(host: "h", port: 65535)),
    ])
    func hostPorts(text: String, expected: HostPort) {
        #expect(HostPort.parse(text) == expected)
        #expect(HostPort.parse(expected.description) == expected)
    }

    @Test(arguments: [
        "", ":5578", "localhost", "localhost:", "localhost:65536", "localhost:-1", "localhost:+1", "localhost:1x",
        "::1:5578", "[::1]", "[::1]5578", "[]:1", "[localhost]:1", "[::1:1", "local host:1", "host:000001",
        "h\u{0}:1", "höst:1",
    ])
    func badHostPorts(text: String) {
        #expect(HostPort.parse(text) == nil)
    }

    @Test func hostPortDescriptionBracketsIPv6() {
        #expect(HostPort(host: "::1", port: 5578).description == "[::1]:5578")
        #expect(HostPort(host: "127.0.0.1", port: 5578).description == "127.0.0.1:5578")
    }

    @Test(arguments: [
        ("65536", 65536), ("64KiB", 65536), ("1MiB", 1 << 20), ("1GiB", 1 << 30), ("1000B", 1000), ("64 KiB", 65536),
    ])
    func sizes(text: String, expected: Int) {
        #expect(ByteSize.parse(text) == expected)
        #expect(ByteSize.parse(ByteSize.render(expected)) == expected)
    }

    @Test(arguments: ["", "KiB", "64KB", "64kib", "1.5MiB", "-1", "64 K", "99999999999999999999", "9999999999GiB"])
    func badSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test func logLevelNamesAreSwiftLogs() {
        #expect(
            LogLevelName.allCases.map(\.rawValue) == [
                "trace", "debug", "info", "notice", "warning", "error", "critical",
            ])
    }
}
