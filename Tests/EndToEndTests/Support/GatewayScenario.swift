import Foundation
import TestSupport

/// One thing a hostile gateway does on one connection to the real agent: get the conversation to
/// `stage`, then play `steps`, then hang up.
struct GatewayScenario: Sendable, CustomStringConvertible {
    /// How far the conversation goes honestly before the script starts.
    enum Stage: String, Sendable, CaseIterable {
        /// Right after accepting, before reading the hello.
        case onAccept = "on accept"
        /// The hello read, no welcome yet.
        case afterHello = "after hello"
        /// Welcomed, before any sample was read.
        case afterWelcome = "after welcome"
        /// Welcomed, two samples read, the first acknowledged.
        case afterSamples = "after samples"
    }

    enum Step: Sendable {
        case send([UInt8])
        /// One byte per write, 1 ms apart: a trickling gateway.
        case sendByteByByte([UInt8])
        /// An ack relative to the last sample read (+1: one ahead of what was sent).
        case ackRelative(Int64)
        /// The agent must hang up by itself within this many seconds (a stalled gateway); if it
        /// does not, that is a hang.
        case awaitAgentClose(Double)
    }

    var name: String
    var stage: Stage
    var steps: [Step]

    var description: String { "\(stage.rawValue): \(name)" }

    static func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// Boundary values for every field, as JSON text: integers at and beyond every limit,
    /// negatives, fractions, exponents, the wrong types, and strings and numbers past the
    /// 64 KiB message limit.
    static let values: [(String, String)] = [
        ("0", "0"), ("1", "1"), ("2", "2"), ("2^63", "9223372036854775808"),
        ("2^64-1", "18446744073709551615"), ("2^64", "18446744073709551616"), ("-1", "-1"), ("-0", "-0"),
        ("1.5", "1.5"), ("1e3", "1e3"), ("1e400", "1e400"), ("string", #""1""#), ("null", "null"),
        ("true", "true"), ("array", "[1]"), ("object", #"{"seq":1}"#),
        ("60 KB string", "\"" + String(repeating: "x", count: 60_000) + "\""),
        ("70 KB number", String(repeating: "9", count: 70_000)),
    ]

    /// Every gateway message with every boundary value in the fields that carry numbers or text,
    /// in the stages where the message is expected and where it is not.
    static let fieldScenarios: [GatewayScenario] = {
        let templates: [(String, String, [Stage])] = [
            ("welcome.protocol", #"{"type":"welcome","protocol":VALUE}"#, [.afterHello, .afterSamples]),
            ("welcome.last_seq", #"{"type":"welcome","protocol":1,"last_seq":VALUE}"#, [.afterHello, .afterSamples]),
            ("ack.seq", #"{"type":"ack","seq":VALUE}"#, [.afterHello, .afterWelcome, .afterSamples]),
            ("error.reason", #"{"type":"error","reason":VALUE}"#, [.afterHello, .afterSamples]),
            ("type", #"{"type":VALUE,"seq":1}"#, [.afterHello, .afterSamples]),
        ]
        var scenarios: [GatewayScenario] = []
        for (field, template, stages) in templates {
            for stage in stages {
                for (label, value) in values {
                    let message = template.replacingOccurrences(of: "VALUE", with: value) + "\n"
                    scenarios.append(
                        GatewayScenario(name: "\(field) = \(label)", stage: stage, steps: [.send(text(message))]))
                }
            }
        }
        return scenarios
    }()

    /// Out-of-order messages, acks ahead and behind, floods, garbage, half lines, stalls and
    /// hang-ups in every stage.
    static let protocolScenarios: [GatewayScenario] = {
        var generator = SeededGenerator(seed: 0x9a7e)
        let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let welcome = text(#"{"type":"welcome","protocol":1}"# + "\n")
        let error = text(#"{"type":"error","reason":"go away"}"# + "\n")
        var scenarios: [GatewayScenario] = []
        for stage in Stage.allCases {
            scenarios += [
                GatewayScenario(name: "hang up", stage: stage, steps: []),
                GatewayScenario(name: "garbage", stage: stage, steps: [.send(garbage)]),
                GatewayScenario(name: "half a line, then hang up", stage: stage, steps: [.send(text(#"{"type":"we"#))]),
                GatewayScenario(
                    name: "half a line, then silence", stage: stage,
                    steps: [.send(text(#"{"type":"ack","se"#)), .awaitAgentClose(15)]),
                GatewayScenario(name: "silence", stage: stage, steps: [.awaitAgentClose(15)]),
                GatewayScenario(
                    name: "endless errors", stage: stage,
                    steps: [.send(Array([[UInt8]](repeating: error, count: 20_000).joined()))]),
                GatewayScenario(name: "welcome", stage: stage, steps: [.send(welcome)]),
                GatewayScenario(name: "two welcomes in one write", stage: stage, steps: [.send(welcome + welcome)]),
                GatewayScenario(name: "welcome byte by byte", stage: stage, steps: [.sendByteByByte(welcome)]),
                GatewayScenario(
                    name: "a hello from the gateway", stage: stage,
                    steps: [
                        .send(
                            text(
                                #"{"type":"hello","protocol":1,"agent":"x","version":"1","session":"0123456789abcdef"}"#
                                    + "\n"))
                    ]),
                GatewayScenario(
                    name: "a sample from the gateway", stage: stage,
                    steps: [
                        .send(
                            text(
                                #"{"type":"sample","seq":1,"ts":1,"ram_percent":1,"cpu_percent":1,"process_ram_gib":1,"interrupts":1}"#
                                    + "\n"))
                    ]),
                GatewayScenario(name: "not an object", stage: stage, steps: [.send(text("[1,2,3]\n"))]),
                GatewayScenario(name: "no type", stage: stage, steps: [.send(text("{}\n"))]),
                GatewayScenario(
                    name: "duplicate key", stage: stage, steps: [.send(text(#"{"type":"ack","seq":1,"seq":2}"# + "\n"))]
                ),
                GatewayScenario(name: "NUL bytes", stage: stage, steps: [.send([0, 0, 0, 10])]),
                GatewayScenario(
                    name: "invalid UTF-8", stage: stage,
                    steps: [.send(text(#"{"type":"error","reason":""#) + [0xC3, 0x28] + text("\"}\n"))]),
                GatewayScenario(
                    name: "nesting 100000 deep", stage: stage,
                    steps: [.send([UInt8](repeating: UInt8(ascii: "["), count: 100_000))]),
                GatewayScenario(
                    name: "a line of 200 KB", stage: stage,
                    steps: [.send(text(#"{"type":"ack","x":""#) + [UInt8](repeating: 0x61, count: 200_000))]),
                GatewayScenario(
                    name: "1 MB of white space", stage: stage, steps: [.send([UInt8](repeating: 0x20, count: 1 << 20))]),
                GatewayScenario(
                    name: "unknown keys", stage: stage,
                    steps: [.send(text(#"{"type":"welcome","protocol":1,"future":[1,{"a":null}]}"# + "\n"))]),
            ]
        }
        for offset: Int64 in [-1, 0, 1, 2, 1000, Int64.max / 2] {
            scenarios.append(
                GatewayScenario(
                    name: "ack last read \(offset >= 0 ? "+" : "")\(offset)", stage: .afterSamples,
                    steps: [.ackRelative(offset)]))
        }
        scenarios.append(
            GatewayScenario(
                name: "10000 acks behind", stage: .afterSamples,
                steps: [
                    .send(Array([[UInt8]](repeating: text(#"{"type":"ack","seq":1}"# + "\n"), count: 10_000).joined()))
                ]))
        scenarios.append(
            GatewayScenario(
                name: "welcome then silence", stage: .afterHello, steps: [.send(welcome), .awaitAgentClose(15)]))
        return scenarios
    }()

    static let all = fieldScenarios + protocolScenarios
}

/// What became of the agent in a sweep of scenarios.
struct SweepTally: Sendable {
    var scenarios = 0
    var connections = 0
    var crashes: [String] = []
    var hangs: [String] = []

    mutating func add(_ other: SweepTally) {
        scenarios += other.scenarios
        connections += other.connections
        crashes += other.crashes
        hangs += other.hangs
    }
}
