import FoundationEssentials
import TestSupport
import Testing

@testable import MonitorProtocol

/// The strict JSON reader behind the codec, checked against Foundation's `JSONDecoder`.
@Suite struct ProtocolJSONTests {
    /// Any JSON value, decoded by Foundation, as the reference for ours.
    indirect enum Reference: Decodable, Equatable {
        case string(String), number(Double), bool(Bool), null, array([Reference]), object([String: Reference])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([Reference].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: Reference].self))
            }
        }
    }

    /// Our reading of the top-level members that are strings, keyed by their unescaped key.
    static func ourStrings(_ text: [UInt8]) throws -> [String: String] {
        try text.withUnsafeBufferPointer { bytes in
            let document = try JSONReader.read(bytes)
            // Foundation keeps the first occurrence of a repeated key; so do we here.
            var seen: Set<String> = []
            var strings: [String: String] = [:]
            for member in document.members {
                let key = JSONReader.string(of: member.key, in: bytes)
                if seen.insert(key).inserted, member.value.kind == .string {
                    strings[key] = JSONReader.string(of: member.value, in: bytes)
                }
            }
            return strings
        }
    }

    static let validDocuments: [String] = [
        "{}", " \t\r\n{ } \n", "[]", "0", "-0", "1.5e-3", "1E+2", "true", "false", "null", #""""#,
        #"{"a":[1,2,{"b":[[],{}]}],"c":"d"}"#,
        #"{"k\u0065y":"v\u00e9\ud83d\ude00\n","s":"\"\\\/\b\f\n\r\t","e":"é日😀","x\u0000":"\u0000"}"#,
        #"{"big":123456789012345678901234567890,"neg":-12.5e+2}"#,
        "{\"del\":\"\u{7F}\"}",
    ]

    @Test(arguments: validDocuments)
    func acceptsWhatFoundationAcceptsWithTheSameStrings(text: String) throws {
        let bytes = Array(text.utf8)
        let ours = try Self.ourStrings(bytes)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(bytes))
        if case .object(let members) = reference {
            let strings = members.compactMapValues { value -> String? in
                if case .string(let string) = value { return string }
                return nil
            }
            #expect(ours == strings)
        }
    }

    /// Invalid JSON, each refused with its reason. `foundationAgrees` is false for the few
    /// inputs Foundation is lenient about; the strict reader refuses them on purpose.
    static let invalidDocuments: [(String, String, Bool)] = [
        ("", "unexpected end of input", true),
        ("  ", "unexpected end of input", true),
        ("{", "unexpected end of input", true),
        (#"{"a""#, "unexpected end of input", true),
        (#"{"a":"#, "unexpected end of input", true),
        (#"{"a":1"#, "unexpected end of input", true),
        (#"{"a":"x"#, "unexpected end of input", true),
        (#"{"a":"\"#, "unexpected end of input", true),
        ("{a:1}", "unexpected 'a' at offset 1", true),
        (#"{"a" 1}"#, "unexpected '1' at offset 5", true),
        (#"{"a":1,}"#, "unexpected '}' at offset 7", false),
        ("[1,]", "unexpected ']' at offset 3", false),
        (#"{"a":1 "b":2}"#, "unexpected '\"' at offset 7", true),
        ("{} {}", "unexpected '{' after the end of the value", true),
        ("{}x", "unexpected 'x' after the end of the value", true),
        (#"{"a":01}"#, "unexpected '1' at offset 6", true),
        (#"{"a":1.}"#, "expected a digit, found '}'", true),
        (#"{"a":.5}"#, "unexpected '.' at offset 5", true),
        (#"{"a":1e}"#, "expected a digit, found '}'", true),
        (#"{"a":-}"#, "expected a digit, found '}'", true),
        (#"{"a":+1}"#, "unexpected '+' at offset 5", true),
        (#"{"a":NaN}"#, "unexpected 'N' at offset 5", true),
        (#"{"a":Infinity}"#, "unexpected 'I' at offset 5", true),
        (#"{"a":tru}"#, "unexpected '}' at offset 8", true),
        (#"{"a":nul"#, "unexpected end of input", true),
        (#"{"a":'x'}"#, "unexpected ''' at offset 5", true),
        (#"{"a":"\x"}"#, "invalid escape \\'x' in a string at offset 6", true),
        (#"{"a":"\u12G4"}"#, "invalid \\u escape: 'G' is not a hexadecimal digit", true),
        (#"{"a":"\ud800"}"#, "unpaired UTF-16 surrogate escape at offset 6", true),
        (#"{"a":"\ud800\u0041"}"#, "unpaired UTF-16 surrogate escape at offset 6", true),
        (#"{"a":"\udc00"}"#, "unpaired UTF-16 surrogate escape at offset 6", true),
        ("{\"a\":\"\t\"}", "unescaped control character 0x09 in a string at offset 6", true),
        ("{\"a\":\"\n\"}", "unescaped control character 0x0A in a string at offset 6", true),
        ("{\"a\":1}\u{0B}", "unexpected 0x0B after the end of the value", true),
        ("{\"a\" : 1}//", "unexpected '/' after the end of the value", true),
        ("\u{FEFF}{}", "unexpected 0xEF at offset 0", false),
    ]

    @Test(arguments: invalidDocuments)
    func refusesInvalidJSON(text: String, detail: String, foundationAgrees: Bool) {
        let bytes = Array(text.utf8)
        #expect(throws: ProtocolError(reason: "not valid JSON: " + detail)) {
            try ProtocolCodec.decodePeerMessage(bytes)
        }
        let foundationRefuses = (try? JSONDecoder().decode(Reference.self, from: Data(bytes))) == nil
        #expect(foundationRefuses == foundationAgrees)
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xFF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF5, 0x80, 0x80, 0x80], [0x80], [0xC3], [0xE6, 0x97], [0xF0, 0x9F, 0x98],
    ]

    @Test(arguments: invalidUTF8)
    func refusesInvalidUTF8InStrings(sequence: [UInt8]) {
        let text = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect(throws: ProtocolError(reason: "not valid JSON: invalid UTF-8 at offset 6")) {
            try ProtocolCodec.decodePeerMessage(text)
        }
        #expect((try? JSONDecoder().decode(Reference.self, from: Data(text))) == nil)
    }

    @Test(
        arguments: [
            [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ] as [[UInt8]])
    func acceptsWellFormedUTF8Boundaries(sequence: [UInt8]) throws {
        let text = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect(try Self.ourStrings(text) == ["a": String(decoding: sequence, as: UTF8.self)])
    }

    @Test func acceptsNestingOf64Levels() throws {
        let text = "{\"a\":" + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}"
        #expect(try Self.ourStrings(Array(text.utf8)).isEmpty)
    }

    /// Each case: the repeated unit, how often, the prefix and where the 65th level opens
    /// (the opening of the 65th container, one unit after the 64 accepted ones).
    @Test(arguments: [
        ("[", 100_000, "", 64),
        ("{\"a\":", 100_000, "", 64 * 5),
        ("[", 64, "{\"a\":", 5 + 63),
    ])
    func refusesDeepNestingWithoutRecursion(unit: String, count: Int, prefix: String, offset: Int) {
        let text = prefix + String(repeating: unit, count: count)
        #expect(throws: ProtocolError(reason: "not valid JSON: nesting deeper than 64 levels at offset \(offset)")) {
            try ProtocolCodec.decodePeerMessage(Array(text.utf8))
        }
    }

    /// The differential check of the fuzz target, on a deterministic set of mutations of a
    /// valid sample: whatever our reader accepts, Foundation accepts with the same strings.
    @Test func mutationsThatWeAcceptFoundationAcceptsToo() throws {
        let base = Array(#"{"type":"sample","s":"a\"b\\c\u00e9","seq":42,"ts":1732520000.125,"x":[1,{"y":null}]}"#.utf8)
        let alphabet = Array(#"{}[]":,\u0123456789abcdefe.-+ tnrl"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xA9, 0xFF]
        var random = SeededGenerator(seed: 7)
        var accepted = 0
        for _ in 0..<20_000 {
            var text = base
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<text.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: text[position] = alphabet.randomElement(using: &random)!
                case 1: text.insert(alphabet.randomElement(using: &random)!, at: position)
                default: text.remove(at: position)
                }
            }
            guard let ours = try? Self.ourStrings(text) else { continue }
            accepted += 1
            let reference = try JSONDecoder().decode(Reference.self, from: Data(text))
            guard case .object(let members) = reference else { continue }
            for (key, value) in ours where members[key] != .string(value) {
                Issue.record("\(String(decoding: text, as: UTF8.self)): \(key) differs")
            }
        }
        #expect(accepted > 1000)
    }
}
