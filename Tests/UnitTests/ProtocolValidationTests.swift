import Testing

@testable import MonitorModel
@testable import MonitorProtocol

/// Every refusal of the codec, with the reason the peer receives.
@Suite struct ProtocolValidationTests {
    static let session = "5f2c9a0b"

    static func hello(replacing key: String, with value: String?) -> String {
        var members = [
            ("type", #""hello""#), ("protocol", "1"), ("agent", #""web-01""#), ("version", #""0.1.0""#),
            ("session", "\"\(session)\""),
        ]
        members = members.compactMap { $0.0 == key ? value.map { v in (key, v) } : $0 }
        return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func sample(replacing key: String, with value: String?) -> String {
        var members = [
            ("type", #""sample""#), ("seq", "42"), ("ts", "1732520000.125"), ("ram_percent", "58.4"),
            ("cpu_percent", "2.8"), ("process_ram_gib", "0.00927734375"), ("interrupts", "706148"),
        ]
        members = members.compactMap { $0.0 == key ? value.map { v in (key, v) } : $0 }
        return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func reportFormat(replacing key: String, with value: String?) -> String {
        var members = [
            ("currentProccessRAM: ", "0.00927734375"), ("RAM usage: ", "58.4"), ("CPU usage: ", "2.8"),
            ("CPU interrupts: ", "706148"),
        ]
        members = members.compactMap { $0.0 == key ? value.map { v in (key, v) } : $0 }
        return "{" + members.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    static let percentRule = "must be a number from 0 to 100"
    static let gigabyteRule = "must be a finite number greater than or equal to 0"
    static let interruptRule = "must be an integer from 0 to 9223372036854775808"
    static let sequenceRule = "must be an integer from 1 to 18446744073709551615"

    static let refusals: [(String, String)] = [
        // Classification.
        ("[1,2]", "not a JSON object"),
        (#""hello""#, "not a JSON object"),
        ("{}", #"message has neither "type" nor the report's keys"#),
        (#"{"agent":"web-01"}"#, #"message has neither "type" nor the report's keys"#),
        (#"{"type":1}"#, #""type" must be a string"#),
        (#"{"type":null}"#, #""type" must be a string"#),
        (#"{"type":"welcome","protocol":1}"#, #"unsupported message type "welcome""#),
        (#"{"type":"x\n\u0000y"}"#, #"unsupported message type "x??y""#),
        (
            "{\"type\":\"" + String(repeating: "t", count: 40) + "\"}",
            "unsupported message type \"" + String(repeating: "t", count: 32) + "...\""
        ),
        (#"{"type":"sample","type":"sample"}"#, #"duplicate key "type""#),
        (#"{"RAM usage: ":1,"RAM usage: ":1}"#, #"duplicate key "RAM usage: ""#),
        // Hello.
        (hello(replacing: "protocol", with: nil), #"missing "protocol" in hello"#),
        (hello(replacing: "protocol", with: "2"), "unsupported protocol version 2 (supported: 1)"),
        (hello(replacing: "protocol", with: "0"), "unsupported protocol version 0 (supported: 1)"),
        (hello(replacing: "protocol", with: "1.0"), #""protocol" must be an integer from 0 to 18446744073709551615"#),
        (hello(replacing: "protocol", with: #""1""#), #""protocol" must be an integer from 0 to 18446744073709551615"#),
        (hello(replacing: "agent", with: nil), #"missing "agent" in hello"#),
        (hello(replacing: "agent", with: "7"), #""agent" must be a string"#),
        (hello(replacing: "agent", with: #""""#), #""agent" must be 1 to 64 characters of A-Z a-z 0-9 . _ -"#),
        (hello(replacing: "agent", with: #""web 01""#), #""agent" must be 1 to 64 characters of A-Z a-z 0-9 . _ -"#),
        (hello(replacing: "agent", with: #""wéb""#), #""agent" must be 1 to 64 characters of A-Z a-z 0-9 . _ -"#),
        (
            hello(replacing: "agent", with: "\"" + String(repeating: "a", count: 65) + "\""),
            #""agent" must be 1 to 64 characters of A-Z a-z 0-9 . _ -"#
        ),
        (
            hello(replacing: "agent", with: #""agent_12""#),
            #"agent name "agent_12" is reserved for peers speaking the report's format"#
        ),
        (hello(replacing: "version", with: nil), #"missing "version" in hello"#),
        (hello(replacing: "version", with: #""""#), #""version" must be 1 to 64 printable ASCII characters"#),
        (hello(replacing: "version", with: #""1\n""#), #""version" must be 1 to 64 printable ASCII characters"#),
        (
            hello(replacing: "version", with: "\"" + String(repeating: "1", count: 65) + "\""),
            #""version" must be 1 to 64 printable ASCII characters"#
        ),
        (hello(replacing: "session", with: nil), #"missing "session" in hello"#),
        (hello(replacing: "session", with: #""5f2c9a0""#), #""session" must be 8 to 64 hexadecimal digits"#),
        (hello(replacing: "session", with: #""5f2c9a0g""#), #""session" must be 8 to 64 hexadecimal digits"#),
        (
            hello(replacing: "session", with: "\"" + String(repeating: "a", count: 65) + "\""),
            #""session" must be 8 to 64 hexadecimal digits"#
        ),
        (hello(replacing: "session", with: "12345678"), #""session" must be a string"#),
        // Sample.
        (sample(replacing: "seq", with: nil), #"missing "seq" in sample"#),
        (sample(replacing: "seq", with: "0"), #""seq" "# + sequenceRule),
        (sample(replacing: "seq", with: "-1"), #""seq" "# + sequenceRule),
        (sample(replacing: "seq", with: "1.5"), #""seq" "# + sequenceRule),
        (sample(replacing: "seq", with: "1e3"), #""seq" "# + sequenceRule),
        (sample(replacing: "seq", with: "18446744073709551616"), #""seq" "# + sequenceRule),
        (sample(replacing: "seq", with: "null"), #""seq" "# + sequenceRule),
        (sample(replacing: "ts", with: nil), #"missing "ts" in sample"#),
        (sample(replacing: "ts", with: "0"), #""ts" must be a finite number of seconds greater than 0"#),
        (sample(replacing: "ts", with: "-1"), #""ts" must be a finite number of seconds greater than 0"#),
        (sample(replacing: "ts", with: "1e400"), #""ts" must be a finite number of seconds greater than 0"#),
        (sample(replacing: "ts", with: #""1""#), #""ts" must be a finite number of seconds greater than 0"#),
        (sample(replacing: "ram_percent", with: nil), #"missing "ram_percent" in sample"#),
        (sample(replacing: "ram_percent", with: "100.0000001"), #""ram_percent" "# + percentRule),
        (sample(replacing: "ram_percent", with: "-0.1"), #""ram_percent" "# + percentRule),
        (sample(replacing: "ram_percent", with: "true"), #""ram_percent" "# + percentRule),
        (sample(replacing: "cpu_percent", with: nil), #"missing "cpu_percent" in sample"#),
        (sample(replacing: "cpu_percent", with: "1e400"), #""cpu_percent" "# + percentRule),
        (sample(replacing: "cpu_percent", with: "-1e400"), #""cpu_percent" "# + percentRule),
        (sample(replacing: "process_ram_gib", with: nil), #"missing "process_ram_gib" in sample"#),
        (sample(replacing: "process_ram_gib", with: "-1e-300"), #""process_ram_gib" "# + gigabyteRule),
        (sample(replacing: "process_ram_gib", with: "1e400"), #""process_ram_gib" "# + gigabyteRule),
        (sample(replacing: "process_ram_gib", with: "[]"), #""process_ram_gib" "# + gigabyteRule),
        (sample(replacing: "interrupts", with: nil), #"missing "interrupts" in sample"#),
        (sample(replacing: "interrupts", with: "-1"), #""interrupts" "# + interruptRule),
        (sample(replacing: "interrupts", with: "-0"), #""interrupts" "# + interruptRule),
        (sample(replacing: "interrupts", with: "706148.5"), #""interrupts" "# + interruptRule),
        (sample(replacing: "interrupts", with: "706148.0"), #""interrupts" "# + interruptRule),
        (sample(replacing: "interrupts", with: "9223372036854775809"), #""interrupts" "# + interruptRule),
        (sample(replacing: "interrupts", with: "99999999999999999999999"), #""interrupts" "# + interruptRule),
        // The report's format.
        (reportFormat(replacing: "RAM usage: ", with: nil), #"missing "RAM usage: " in the report's message"#),
        (reportFormat(replacing: "CPU usage: ", with: nil), #"missing "CPU usage: " in the report's message"#),
        (
            reportFormat(replacing: "currentProccessRAM: ", with: nil),
            #"missing "currentProccessRAM: " in the report's message"#
        ),
        (
            reportFormat(replacing: "CPU interrupts: ", with: nil),
            #"missing "CPU interrupts: " in the report's message"#
        ),
        (reportFormat(replacing: "RAM usage: ", with: "101"), #""RAM usage: " "# + percentRule),
        (reportFormat(replacing: "CPU usage: ", with: #""2.8""#), #""CPU usage: " "# + percentRule),
        (reportFormat(replacing: "currentProccessRAM: ", with: "-1"), #""currentProccessRAM: " "# + gigabyteRule),
        (reportFormat(replacing: "CPU interrupts: ", with: "1.5"), #""CPU interrupts: " "# + interruptRule),
        (reportFormat(replacing: "CPU interrupts: ", with: "-3"), #""CPU interrupts: " "# + interruptRule),
    ]

    @Test(arguments: refusals)
    func refusesPeerMessage(input: String, reason: String) {
        #expect(throws: ProtocolError(reason: reason)) {
            try ProtocolCodec.decodePeerMessage(Array(input.utf8))
        }
    }

    /// The valid baselines the refusals are derived from, so each refusal is due to its change.
    @Test func baselinesAreAccepted() throws {
        _ = try ProtocolCodec.decodePeerMessage(Array(Self.hello(replacing: "", with: nil).utf8))
        _ = try ProtocolCodec.decodePeerMessage(Array(Self.sample(replacing: "", with: nil).utf8))
        _ = try ProtocolCodec.decodePeerMessage(Array(Self.reportFormat(replacing: "", with: nil).utf8))
    }

    @Test(arguments: [
        ("0", 0.0), ("100", 100.0), ("-0", 0.0), ("-0.0", 0.0), ("1e-400", 0.0), ("5E1", 50.0),
        ("99.99999999999999", 99.99999999999999),
    ])
    func acceptsBoundaryPercentages(text: String, value: Double) throws {
        let message = try ProtocolCodec.decodePeerMessage(Array(Self.sample(replacing: "ram_percent", with: text).utf8))
        guard case .native(.sample(let sample)) = message else {
            Issue.record("not a sample")
            return
        }
        #expect(sample.ramUsagePercent == value)
        #expect(sample.ramUsagePercent.sign == .plus)
    }

    @Test func acceptsTheLargestInterruptCount() throws {
        let message = try ProtocolCodec.decodePeerMessage(
            Array(Self.sample(replacing: "interrupts", with: "9223372036854775808").utf8))
        guard case .native(.sample(let sample)) = message else {
            Issue.record("not a sample")
            return
        }
        #expect(sample.cpuInterrupts == UInt64(1) << 63)
    }

    static let gatewayRefusals: [(String, String)] = [
        ("3", "not a JSON object"),
        ("{}", #"missing "type" in message"#),
        (#"{"type":"hello"}"#, #"unsupported message type "hello""#),
        (#"{"type":"welcome"}"#, #"missing "protocol" in welcome"#),
        (#"{"type":"welcome","protocol":2}"#, "unsupported protocol version 2 (supported: 1)"),
        (
            #"{"type":"welcome","protocol":1,"last_seq":"1"}"#,
            #""last_seq" must be an integer from 0 to 18446744073709551615"#
        ),
        (
            #"{"type":"welcome","protocol":1,"last_seq":-1}"#,
            #""last_seq" must be an integer from 0 to 18446744073709551615"#
        ),
        (#"{"type":"ack"}"#, #"missing "seq" in ack"#),
        (#"{"type":"ack","seq":-1}"#, #""seq" must be an integer from 0 to 18446744073709551615"#),
        (#"{"type":"error"}"#, #"missing "reason" in error"#),
        (#"{"type":"error","reason":5}"#, #""reason" must be a string"#),
        (#"{"type":"ack","seq":1,"seq":2}"#, #"duplicate key "seq""#),
    ]

    @Test(arguments: gatewayRefusals)
    func refusesGatewayMessage(input: String, reason: String) {
        #expect(throws: ProtocolError(reason: reason)) {
            try ProtocolCodec.decodeGatewayMessage(Array(input.utf8))
        }
    }

    @Test func welcomeWithNullLastSequenceMeansNone() throws {
        #expect(
            try ProtocolCodec.decodeGatewayMessage(Array(#"{"type":"welcome","protocol":1,"last_seq":null}"#.utf8))
                == .welcome(protocolVersion: 1, lastSequence: nil))
    }

    /// Issue 11, defect 2: older gateways sent 0 for a session they knew without a sample.
    @Test func welcomeWithLastSequenceZeroMeansNone() throws {
        #expect(
            try ProtocolCodec.decodeGatewayMessage(Array(#"{"type":"welcome","protocol":1,"last_seq":0}"#.utf8))
                == .welcome(protocolVersion: 1, lastSequence: nil))
    }

    /// `acknowledge = forwarded`: an ack of 0 is a keepalive, asked for by the hello's `"keepalive": true`.
    @Test func keepaliveAckAndHelloFlag() throws {
        #expect(try ProtocolCodec.decodeGatewayMessage(Array(#"{"type":"ack","seq":0}"#.utf8)) == .ack(sequence: 0))
        let hello = Hello(agent: "web-01", agentVersion: "1", session: "0123456789abcdef", keepalive: true)
        let line = ProtocolCodec.encode(.hello(hello))
        #expect(String(decoding: line, as: UTF8.self).contains(#""keepalive":true"#))
        #expect(try ProtocolCodec.decodePeerMessage(Array(line.dropLast())) == .native(.hello(hello)))
        let plain = Hello(agent: "web-01", agentVersion: "1", session: "0123456789abcdef")
        #expect(!String(decoding: ProtocolCodec.encode(.hello(plain)), as: UTF8.self).contains("keepalive"))
        let base = #"{"type":"hello","protocol":1,"agent":"a","version":"1","session":"0123456789abcdef""#
        #expect(
            try ProtocolCodec.decodePeerMessage(Array((base + #","keepalive":false}"#).utf8))
                == .native(.hello(Hello(agent: "a", agentVersion: "1", session: "0123456789abcdef"))))
        #expect(
            try ProtocolCodec.decodePeerMessage(Array((base + #","keepalive":null}"#).utf8))
                == .native(.hello(Hello(agent: "a", agentVersion: "1", session: "0123456789abcdef"))))
        #expect(throws: ProtocolError(reason: #""keepalive" must be true or false"#)) {
            try ProtocolCodec.decodePeerMessage(Array((base + #","keepalive":1}"#).utf8))
        }
    }

    @Test(arguments: ["web-01", "a", "A.b_c-9", "agent_", "agent_x", "agent_1a", "agent-1", "Agent_1"])
    func acceptsAgentNames(name: String) throws {
        #expect(throws: Never.self) { try AgentName.validate(name) }
    }

    @Test(arguments: ["agent_0", "agent_1", "agent_0042"])
    func reservesTheReportsAgentNames(name: String) {
        #expect(AgentName.isReserved(name))
        #expect(throws: InvalidAgentName.self) { try AgentName.validate(name) }
    }
}
