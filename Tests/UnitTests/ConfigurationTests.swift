import Foundation
import TestSupport
import Testing

@testable import GatewayConfig
@testable import MonitorConfig

@Suite struct ConfigurationTests: ConfigurationErrorText {
    // MARK: Defaults and every key

    @Test func gatewayDefaultsAreTheSpecs() {
        let configuration = GatewayConfiguration()
        #expect(configuration.listen == HostPort(host: "0.0.0.0", port: 5578))
        #expect(configuration.metricsListen == HostPort(host: "0.0.0.0", port: 8001))
        #expect(configuration.agentTimeout == .seconds(30))
        #expect(configuration.forgetAfter == .seconds(3600))
        #expect(configuration.helloTimeout == .seconds(10))
        #expect(configuration.maxMessageBytes == 65536)
        #expect(configuration.allowReportFormatAgents)
        #expect(configuration.logLevel == .info)
    }

    @Test func agentDefaultsAreTheSpecs() {
        let configuration = AgentConfiguration()
        #expect(configuration.servers == [HostPort(host: "127.0.0.1", port: 5578)])
        #expect(configuration.name == "")
        #expect(configuration.interval == .seconds(5))
        #expect(configuration.cpuWindow == .seconds(4))
        #expect(configuration.bufferCapacity == 24 * 3600 / 5)
        #expect(configuration.logLevel == .info)
        #expect(configuration.resolvedName(hostName: "box") == "box")
    }

    @Test func gatewayEveryKey() throws {
        let text = """
            [monitord]
            listen = [::]:6000
            metrics-listen = 127.0.0.1:9100   # local only
            agent-timeout = 45s
            forget-after = 2h
            hello-timeout = 1500ms
            max-message-size = 1MiB
            allow-legacy-agents = off
            log-level = debug
            """
        var expected = GatewayConfiguration()
        expected.listen = HostPort(host: "::", port: 6000)
        expected.metricsListen = HostPort(host: "127.0.0.1", port: 9100)
        expected.agentTimeout = .seconds(45)
        expected.forgetAfter = .seconds(7200)
        expected.helloTimeout = .milliseconds(1500)
        expected.maxMessageBytes = 1 << 20
        expected.allowReportFormatAgents = false
        expected.logLevel = .debug
        #expect(try GatewayConfiguration.parse(text, file: "m.conf") == expected)
    }

    @Test func agentEveryKey() throws {
        let text = """
            [agent]
            server = gw1:5578, [::1]:5579 ,10.0.0.3:1
            name = web-01.prod
            interval = 10s
            cpu-window = 10s
            buffer-samples = 100
            log-level = warning
            """
        let configuration = try AgentConfiguration.parse(text, file: "a.conf")
        #expect(
            configuration.servers == [
                HostPort(host: "gw1", port: 5578), HostPort(host: "::1", port: 5579),
                HostPort(host: "10.0.0.3", port: 1),
            ])
        #expect(configuration.name == "web-01.prod")
        #expect(configuration.resolvedName(hostName: "box") == "web-01.prod")
        #expect(configuration.interval == .seconds(10))
        #expect(configuration.cpuWindow == .seconds(10))
        #expect(configuration.bufferCapacity == 100)
        #expect(configuration.logLevel == .warning)
    }

    @Test(arguments: [
        ("yes", true), ("No", false), ("TRUE", true), ("false", false), ("on", true), ("off", false), ("1", true),
        ("0", false),
    ])
    func booleans(text: String, expected: Bool) throws {
        #expect(
            try GatewayConfiguration.parse("[monitord]\nallow-legacy-agents = \(text)", file: "m")
                .allowReportFormatAgents
                == expected)
    }

    @Test func emptyNameMeansHostName() throws {
        #expect(try AgentConfiguration.parse("[agent]\nname =\n", file: "a.conf").name == "")
        #expect(try AgentConfiguration.parse("[agent]\nname =    # none\n", file: "a.conf").name == "")
    }

    // MARK: Bad values, one per key, with line and what was expected

    @Test func badGatewayValues() {
        #expect(
            gatewayError("\nlisten = 0.0.0.0\n")
                == "m.conf:3: listen: \"0.0.0.0\" is not a host:port (e.g. 0.0.0.0:5578, localhost:5578, [::1]:5578)")
        #expect(
            gatewayError("metrics-listen = :8001\n")
                == "m.conf:2: metrics-listen: \":8001\" is not a host:port (e.g. 0.0.0.0:5578, localhost:5578, [::1]:5578)"
        )
        #expect(
            gatewayError("agent-timeout = 30\n")
                == "m.conf:2: agent-timeout: \"30\" is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
        #expect(
            gatewayError("forget-after =\n")
                == "m.conf:2: forget-after: \"\" is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
        #expect(
            gatewayError("hello-timeout = 0s\n")
                == "m.conf:2: hello-timeout: \"0s\" is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
        #expect(
            gatewayError("max-message-size = 64KB\n")
                == "m.conf:2: max-message-size: \"64KB\" is not a size (use bytes or a unit: 65536, 64KiB, 1MiB)")
        #expect(
            gatewayError("max-message-size = 1023\n")
                == "m.conf:2: max-message-size: 1023 is out of range (1KiB...16MiB)")
        #expect(
            gatewayError("max-message-size = 17MiB\n")
                == "m.conf:2: max-message-size: 17MiB is out of range (1KiB...16MiB)")
        #expect(
            gatewayError("allow-legacy-agents = maybe\n")
                == "m.conf:2: allow-legacy-agents: \"maybe\" is not a boolean (use yes/no, true/false, on/off, 1/0)")
        #expect(
            gatewayError("log-level = verbose\n")
                == "m.conf:2: log-level: \"verbose\" is not a log level (use trace, debug, info, notice, warning, error, critical)"
        )
    }

    @Test func sizeBoundsAreInclusive() throws {
        #expect(
            try GatewayConfiguration.parse("[monitord]\nmax-message-size = 1KiB", file: "m").maxMessageBytes == 1024)
        #expect(
            try GatewayConfiguration.parse("[monitord]\nmax-message-size = 16MiB", file: "m").maxMessageBytes == 16
                << 20)
    }

    @Test func forgetAfterShorterThanAgentTimeout() {
        let reason = "an agent is forgotten only after it is down"
        #expect(
            gatewayError("forget-after = 10s\n")
                == "m.conf:2: forget-after (10s) must not be shorter than agent-timeout (30s): \(reason)")
        #expect(
            gatewayError("agent-timeout = 2h\n")
                == "m.conf:2: forget-after (1h) must not be shorter than agent-timeout (2h): \(reason)")
        #expect(
            gatewayError("forget-after = 1m\n\nagent-timeout = 2m\n")
                == "m.conf:4: forget-after (1m) must not be shorter than agent-timeout (2m): \(reason)")
        #expect(gatewayError("forget-after = 30s\n") == nil)
    }

    @Test func badAgentValues() {
        #expect(
            agentError("server =\n") == "a.conf:2: server: at least one host:port is required (e.g. 127.0.0.1:5578)")
        #expect(
            agentError("server = a:1,,b:2\n")
                == "a.conf:2: server: \"\" is not a host:port (a comma separated list such as 10.0.0.1:5578, [::1]:5578)"
        )
        #expect(
            agentError("server = a:1, b\n")
                == "a.conf:2: server: \"b\" is not a host:port (a comma separated list such as 10.0.0.1:5578, [::1]:5578)"
        )
        #expect(
            agentError("interval = 5\n")
                == "a.conf:2: interval: \"5\" is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
        #expect(
            agentError("interval = 99ms\ncpu-window = 50ms\n")
                == "a.conf:2: interval: 99ms is too short (at least 100ms)")
        #expect(
            agentError("cpu-window = 0ms\n")
                == "a.conf:2: cpu-window: \"0ms\" is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
        #expect(agentError("buffer-samples = 0\n") == "a.conf:2: buffer-samples: 0 is out of range (1...10000000)")
        #expect(
            agentError("buffer-samples = 10000001\n")
                == "a.conf:2: buffer-samples: 10000001 is out of range (1...10000000)")
        #expect(agentError("buffer-samples = 1e3\n") == "a.conf:2: buffer-samples: \"1e3\" is not a whole number")
        #expect(agentError("buffer-samples = -1\n") == "a.conf:2: buffer-samples: \"-1\" is not a whole number")
        #expect(
            agentError("log-level = INFO\n")
                == "a.conf:2: log-level: \"INFO\" is not a log level (use trace, debug, info, notice, warning, error, critical)"
        )
    }

    @Test func cpuWindowLongerThanInterval() {
        let reason = "the CPU is measured within each interval, so the window cannot be longer"
        #expect(agentError("cpu-window = 6s\n") == "a.conf:2: cpu-window: 6s is longer than interval (5s); \(reason)")
        #expect(
            agentError("interval = 2s\n")
                == "a.conf:2: interval: 2s is shorter than cpu-window (4s, the default); \(reason)")
        #expect(
            agentError("cpu-window = 3s\ninterval = 2s\n")
                == "a.conf:3: interval: 2s is shorter than cpu-window (3s); \(reason)")
        #expect(
            agentError("interval = 2s\ncpu-window = 3s\n")
                == "a.conf:3: cpu-window: 3s is longer than interval (2s); \(reason)")
        #expect(agentError("interval = 100ms\ncpu-window = 100ms\n") == nil)
    }

    @Test func badNames() {
        #expect(
            agentError("name = agent_12\n")
                == "a.conf:2: name: \"agent_12\" is reserved for agents speaking the report's format")
        #expect(
            agentError("name = web 1\n")
                == "a.conf:2: name: \"web 1\" may only contain letters, digits, \".\", \"_\" and \"-\"")
        #expect(
            agentError("name = wéb\n")
                == "a.conf:2: name: \"wéb\" may only contain letters, digits, \".\", \"_\" and \"-\"")
        let long = String(repeating: "n", count: 65)
        #expect(
            agentError("name = \(long)\n")
                == "a.conf:2: name: \"\(String(repeating: "n", count: 60))...\" is longer than 64 characters")
        #expect(agentError("name = \(String(repeating: "n", count: 64))\n") == nil)
        #expect(agentError("name = agent_\n") == nil)
        #expect(agentError("name = agent_1x\n") == nil)
        #expect(agentError("name = my_agent_1\n") == nil)
    }

    // MARK: Round trip

    @Test func defaultsRoundTrip() throws {
        #expect(try GatewayConfiguration.parse(GatewayConfiguration().rendered(), file: "r") == GatewayConfiguration())
        #expect(try AgentConfiguration.parse(AgentConfiguration().rendered(), file: "r") == AgentConfiguration())
    }

    @Test func changedValuesRoundTrip() throws {
        var gateway = GatewayConfiguration()
        gateway.listen = HostPort(host: "::1", port: 0)
        gateway.metricsListen = HostPort(host: "localhost", port: 9)
        gateway.agentTimeout = .milliseconds(1500)
        gateway.forgetAfter = .seconds(90)
        gateway.helloTimeout = .nanoseconds(1_000_000_001)
        gateway.maxMessageBytes = 1025
        gateway.allowReportFormatAgents = false
        gateway.logLevel = .critical
        #expect(try GatewayConfiguration.parse(gateway.rendered(), file: "r") == gateway)

        var agent = AgentConfiguration()
        agent.servers = [HostPort(host: "a", port: 1), HostPort(host: "fe80::1%eth0", port: 2)]
        agent.name = "n.1_x-y"
        agent.interval = .milliseconds(100)
        agent.cpuWindow = .milliseconds(100)
        agent.bufferCapacity = 10_000_000
        agent.logLevel = .trace
        #expect(try AgentConfiguration.parse(agent.rendered(), file: "r") == agent)
    }

    @Test func renderedFileIsReadable() {
        let rendered = AgentConfiguration().rendered()
        let expected =
            "\n[agent]\nserver = 127.0.0.1:5578\nfailback-after = 5m\nname =\ninterval = 5s\ncpu-window = 4s\n"
        #expect(rendered.contains(expected))
    }

    // MARK: Files

    static let repositoryRoot: String = {
        // Tests/UnitTests/ConfigurationTests.swift -> repository root
        var path = #filePath
        for _ in 0..<3 {
            path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        }
        return path
    }()

    @Test func shippedGatewayFileParsesToDefaults() throws {
        let path = Self.repositoryRoot + "/etc/monitor/monitord.conf"
        var packaged = GatewayConfiguration()
        packaged.walDirectory = "/var/lib/monitord"  // the unit's StateDirectory, which the source tree has not
        #expect(try GatewayConfiguration.load(path: path) == packaged)
        // Every key is present in the example, so operators find them all there.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in GatewayConfiguration.schema.sections[0].keys {
            #expect(text.contains("\n\(key) = "), "monitord.conf lacks \(key)")
        }
    }

    @Test func shippedAgentFileParsesToDefaults() throws {
        let path = Self.repositoryRoot + "/etc/monitor/agent.conf"
        #expect(try AgentConfiguration.load(path: path) == AgentConfiguration())
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in AgentConfiguration.schema.sections[0].keys {
            #expect(text.contains("\n\(key) ="), "agent.conf lacks \(key)")
        }
    }

    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = temporaryPath("config") + ".conf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func loadReadsAFile() throws {
        let path = try temporaryFile(Array("[agent]\nname = from-file\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try AgentConfiguration.load(path: path).name == "from-file")
    }

    @Test func loadReportsErrorsWithThePath() throws {
        let path = try temporaryFile(Array("[monitord]\nlisten = nope\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            throws: ConfigurationError(
                file: path, line: 2,
                message: "listen: \"nope\" is not a host:port (e.g. 0.0.0.0:5578, localhost:5578, [::1]:5578)")
        ) {
            try GatewayConfiguration.load(path: path)
        }
    }

    @Test func missingFileIsUnreadable() {
        #expect(
            throws: ConfigurationError(
                file: "/nonexistent/m.conf", line: nil, message: "cannot read: No such file or directory")
        ) {
            try GatewayConfiguration.load(path: "/nonexistent/m.conf")
        }
    }

    /// The audit: a 300-byte token passed --check-config, then every gateway refused every hello.
    @Test func tokenLongerThanTheProtocolAllowsIsRefusedWithItsLine() throws {
        let long = String(repeating: "t", count: 257)
        #expect(
            throws: ConfigurationError(
                file: "agent.conf", line: 2, message: "token: at most 256 bytes (found 257)")
        ) {
            try AgentConfiguration.parse("[agent]\ntoken = \(long)\n", file: "agent.conf")
        }
        let longest = String(repeating: "t", count: 256)
        #expect(try AgentConfiguration.parse("[agent]\ntoken = \(longest)\n", file: "agent.conf").token == longest)
    }

    @Test func directoryIsUnreadable() {
        #expect(throws: ConfigurationError(file: "/tmp", line: nil, message: "cannot read: not a regular file")) {
            try AgentConfiguration.load(path: "/tmp")
        }
    }

    @Test func invalidUTF8FileIsRefusedWithItsLine() throws {
        let path = try temporaryFile(Array("[agent]\n\nname = ".utf8) + [0xFF] + Array("\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigurationError(file: path, line: 3, message: "line is not valid UTF-8")) {
            try AgentConfiguration.load(path: path)
        }
    }

    @Test func fileLargerThanOneMebibyteIsRefused() throws {
        let exactly = try temporaryFile(Array(repeating: UInt8(ascii: "#"), count: 1 << 20))
        let over = try temporaryFile(Array(repeating: UInt8(ascii: "#"), count: (1 << 20) + 1))
        defer {
            try? FileManager.default.removeItem(atPath: exactly)
            try? FileManager.default.removeItem(atPath: over)
        }
        #expect(try AgentConfiguration.load(path: exactly) == AgentConfiguration())
        #expect(
            throws: ConfigurationError(file: over, line: nil, message: "file is larger than 1 MiB; refusing to read it")
        ) {
            try AgentConfiguration.load(path: over)
        }
    }

    /// A device never ends; it is refused before a byte is read (as a pipe is, which would block).
    @Test func endlessFileIsRefusedWithoutReadingItAll() {
        #expect(
            throws: ConfigurationError(file: "/dev/zero", line: nil, message: "cannot read: not a regular file")
        ) {
            try GatewayConfiguration.load(path: "/dev/zero")
        }
    }
}

@Suite("Agent name from the host name")
struct HostNameAsAgentNameTests {
    @Test(
        "with name empty, a host name the gateway would refuse is a configuration error (outside audit 3/11)",
        arguments: ["agent_5", "sp ace", "", String(repeating: "h", count: 65), "häst"])
    func refusedHostNames(hostName: String) throws {
        let configuration = try AgentConfiguration.parse("[agent]\nname =\n", file: "agent.conf")
        #expect {
            try configuration.checkResolvedName(hostName: hostName, file: "agent.conf")
        } throws: { error in
            "\(error)".contains("the host name \"\(hostName.prefix(8))")
                && "\(error)".contains("would be the agent's name")
                && "\(error)".contains("set name = in [agent]")
        }
    }

    @Test("a valid host name, or a name that is set, passes")
    func acceptedNames() throws {
        let empty = try AgentConfiguration.parse("[agent]\n", file: "agent.conf")
        #expect(throws: Never.self) { try empty.checkResolvedName(hostName: "web-1.example", file: "agent.conf") }
        let named = try AgentConfiguration.parse("[agent]\nname = web-1\n", file: "agent.conf")
        // An explicit name makes the host name irrelevant, however bad it is.
        #expect(throws: Never.self) { try named.checkResolvedName(hostName: "agent_5", file: "agent.conf") }
        #expect(throws: ConfigurationError.self) {
            try empty.checkResolvedName(hostName: "agent_5", file: "agent.conf")
        }
    }
}
