import FoundationEssentials
import TestSupport
import Testing

@testable import MonitorModel
@testable import MonitorProtocol

@Suite struct ProtocolCodecTests {
    /// The report's example message, verbatim from SPEC §1.
    static let reportExample =
        #"{"currentProccessRAM: ": 0.00927734375, "RAM usage: ": 58.4, "CPU usage: ": 2.8, "CPU interrupts: ": 706148}"#

    @Test func decodesTheReportsExampleExactly() throws {
        let message = try ProtocolCodec.decodePeerMessage(Array(Self.reportExample.utf8))
        let expected = Sample(
            sequence: 0, timestamp: nil, ramUsagePercent: 58.4, cpuUsagePercent: 2.8,
            processRAMGigabytes: 0.00927734375, cpuInterrupts: 706148)
        #expect(message == .reportFormat(expected))
    }

    @Test func decodesTheReportsMessagesSentBackToBack() throws {
        var splitter = JSONObjectSplitter()
        splitter.append(Array(String(repeating: Self.reportExample, count: 3).utf8))
        let objects = try ProtocolFixtures.drain(&splitter)
        #expect(objects.count == 3)
        for object in objects {
            guard case .reportFormat = try ProtocolCodec.decodePeerMessage(object) else {
                Issue.record("not classified as the report's format")
                return
            }
        }
    }

    @Test func encodesTheDesignsExampleSampleExactly() {
        let sample = Sample(
            sequence: 42, timestamp: 1_732_520_000.125, ramUsagePercent: 58.4, cpuUsagePercent: 2.8,
            processRAMGigabytes: 0.00927734375, cpuInterrupts: 706148)
        let text = String(decoding: ProtocolCodec.encode(AgentMessage.sample(sample)), as: UTF8.self)
        #expect(
            text
                == #"{"type":"sample","seq":42,"ts":1732520000.125,"ram_percent":58.4,"cpu_percent":2.8,"process_ram_gib":0.00927734375,"interrupts":706148}"#
                + "\n")
    }

    @Test func encodesGatewayMessagesAsTheDesignShowsThem() {
        func text(_ message: GatewayMessage) -> String {
            String(decoding: ProtocolCodec.encode(message), as: UTF8.self)
        }
        #expect(
            text(.welcome(protocolVersion: 1, lastSequence: 41)) == #"{"type":"welcome","protocol":1,"last_seq":41}"#
                + "\n")
        #expect(text(.welcome(protocolVersion: 1, lastSequence: nil)) == #"{"type":"welcome","protocol":1}"# + "\n")
        #expect(text(.ack(sequence: 42)) == #"{"type":"ack","seq":42}"# + "\n")
        #expect(text(.error(reason: "bad")) == #"{"type":"error","reason":"bad"}"# + "\n")
    }

    @Test func encodesHelloAsTheDesignShowsIt() {
        let hello = Hello(agent: "web-01", agentVersion: "0.1.0", session: "5f2c9a0b")
        #expect(
            String(decoding: ProtocolCodec.encode(AgentMessage.hello(hello)), as: UTF8.self)
                == #"{"type":"hello","protocol":1,"agent":"web-01","version":"0.1.0","session":"5f2c9a0b"}"# + "\n")
    }

    static let gatewayMessages: [GatewayMessage] = [
        .welcome(protocolVersion: 1, lastSequence: nil),
        .welcome(protocolVersion: 1, lastSequence: 1),
        .welcome(protocolVersion: 1, lastSequence: UInt64.max),
        .ack(sequence: 1),
        .ack(sequence: UInt64.max),
        .error(reason: ""),
        .error(reason: "message exceeds 65536 bytes"),
        .error(reason: "quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7} del \u{7F} é 😀"),
    ]

    @Test(arguments: gatewayMessages)
    func gatewayMessagesRoundTrip(message: GatewayMessage) throws {
        let line = ProtocolCodec.encode(message)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
        #expect(try ProtocolCodec.decodeGatewayMessage(Array(line.dropLast())) == message)
    }

    @Test(arguments: [
        Hello(agent: "web-01", agentVersion: "0.1.0", session: "5f2c9a0b"),
        Hello(
            agent: String(repeating: "a", count: 64), agentVersion: String(repeating: "~", count: 64),
            session: String(repeating: "f", count: 64)),
        Hello(agent: "agent_", agentVersion: "1.0.0-beta+\"quoted\"", session: "0123456789abcdef"),
        Hello(agent: "agent_1x", agentVersion: "v", session: "00000000"),
    ])
    func helloRoundTrips(hello: Hello) throws {
        let line = ProtocolCodec.encode(AgentMessage.hello(hello))
        #expect(try ProtocolCodec.decodePeerMessage(line) == .native(.hello(hello)))
    }

    @Test func sessionIsReadCaseInsensitivelyAndKeptInLowerCase() throws {
        let line = ProtocolCodec.encode(
            AgentMessage.hello(Hello(agent: "db", agentVersion: "1", session: "ABCDEF0123456789")))
        #expect(
            try ProtocolCodec.decodePeerMessage(line)
                == .native(.hello(Hello(agent: "db", agentVersion: "1", session: "abcdef0123456789"))))
    }

    /// Random finite values in the accepted ranges survive encoding bit for bit, checked both
    /// by our decoder and by Foundation's, so the text is ordinary JSON with full precision.
    @Test func samplesRoundTripBitForBit() throws {
        var random = SeededGenerator(seed: 42)
        struct Wire: Decodable {
            var seq: UInt64
            var ts: Double
            var ram_percent: Double
            var cpu_percent: Double
            var process_ram_gib: Double
            var interrupts: UInt64
        }
        for round in 0..<2000 {
            let sample = Sample(
                sequence: round == 0 ? UInt64.max : UInt64.random(in: 1...UInt64.max, using: &random),
                timestamp: round == 1
                    ? Double.leastNonzeroMagnitude : Double.random(in: 1e9...2e9, using: &random),
                ramUsagePercent: round == 2 ? 100 : Double.random(in: 0...100, using: &random),
                cpuUsagePercent: round == 2 ? 0 : Double.random(in: 0...100, using: &random),
                processRAMGigabytes: round == 3
                    ? Double.greatestFiniteMagnitude : Double.random(in: 0...64, using: &random),
                cpuInterrupts: round == 0
                    ? ProtocolCodec.maximumInterrupts : UInt64.random(in: 0...(1 << 63), using: &random)
            )
            let line = ProtocolCodec.encode(AgentMessage.sample(sample))
            #expect(try ProtocolCodec.decodePeerMessage(line) == .native(.sample(sample)))
            let wire = try JSONDecoder().decode(Wire.self, from: Data(line))
            #expect(wire.seq == sample.sequence && wire.interrupts == sample.cpuInterrupts)
            #expect(wire.ts.bitPattern == sample.timestamp?.bitPattern)
            #expect(wire.ram_percent.bitPattern == sample.ramUsagePercent.bitPattern)
            #expect(wire.cpu_percent.bitPattern == sample.cpuUsagePercent.bitPattern)
            #expect(wire.process_ram_gib.bitPattern == sample.processRAMGigabytes.bitPattern)
        }
    }

    @Test func integersAreWrittenWithoutFraction() {
        let sample = Sample(
            sequence: 7, timestamp: 1_700_000_000, ramUsagePercent: 50, cpuUsagePercent: 1,
            processRAMGigabytes: 0, cpuInterrupts: 9_000_000_000)
        let text = String(decoding: ProtocolCodec.encode(AgentMessage.sample(sample)), as: UTF8.self)
        #expect(text.contains(#""seq":7,"#))
        #expect(text.contains(#""interrupts":9000000000}"#))
    }

    @Test func nonFiniteValuesAreWrittenAsNullWhichTheGatewayRefuses() throws {
        let sample = Sample(
            sequence: 1, timestamp: 1, ramUsagePercent: .nan, cpuUsagePercent: 1,
            processRAMGigabytes: 0, cpuInterrupts: 0)
        let line = ProtocolCodec.encode(AgentMessage.sample(sample))
        #expect(String(decoding: line, as: UTF8.self).contains(#""ram_percent":null"#))
        #expect(throws: ProtocolError(reason: #""ram_percent" must be a number from 0 to 100"#)) {
            try ProtocolCodec.decodePeerMessage(line)
        }
    }

    @Test func aSampleWithoutTimestampIsWrittenWithoutTs() {
        let sample = Sample(
            sequence: 1, timestamp: nil, ramUsagePercent: 1, cpuUsagePercent: 1, processRAMGigabytes: 0,
            cpuInterrupts: 0)
        #expect(throws: ProtocolError(reason: #"missing "ts" in sample"#)) {
            try ProtocolCodec.decodePeerMessage(ProtocolCodec.encode(AgentMessage.sample(sample)))
        }
    }

    @Test func unknownKeysAreIgnoredInBothDialects() throws {
        let native = #"""
            {"future":{"nested":[1,{"x":null}]},"type":"sample","seq":1,"ts":1.5,"ram_percent":1,"cpu_percent":2,
             "process_ram_gib":3,"interrupts":4,"extra":"é","seq ":true}
            """#
        #expect(
            try ProtocolCodec.decodePeerMessage(Array(native.utf8))
                == .native(
                    .sample(
                        Sample(
                            sequence: 1, timestamp: 1.5, ramUsagePercent: 1, cpuUsagePercent: 2,
                            processRAMGigabytes: 3, cpuInterrupts: 4))))
        let reportFormat =
            #"{"RAM usage: ": 1, "CPU usage: ": 2, "currentProccessRAM: ": 3, "CPU interrupts: ": 4, "host": [1]}"#
        #expect(
            try ProtocolCodec.decodePeerMessage(Array(reportFormat.utf8))
                == .reportFormat(
                    Sample(
                        sequence: 0, timestamp: nil, ramUsagePercent: 1, cpuUsagePercent: 2,
                        processRAMGigabytes: 3, cpuInterrupts: 4)))
    }

    @Test func escapedKeysAndValuesMeanWhatTheySpell() throws {
        let text =
            #"{"\u0074ype":"h\u0065llo","protocol":1,"agent":"web\u002d01","version":"\u0031.\/0","session":"5F2C9A0B"}"#
        #expect(
            try ProtocolCodec.decodePeerMessage(Array(text.utf8))
                == .native(.hello(Hello(agent: "web-01", agentVersion: "1./0", session: "5f2c9a0b"))))
        let error = #"{"type":"error","reason":"\u00e9t\u00E9 \ud83d\ude00 \"\\\/\b\f\n\r\t"}"#
        #expect(
            try ProtocolCodec.decodeGatewayMessage(Array(error.utf8))
                == .error(reason: "été 😀 \"\\/\u{8}\u{C}\n\r\t"))
    }
}
