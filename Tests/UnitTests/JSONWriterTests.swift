import Foundation
import MonitorProtocol
import Testing

/// The one JSON writer (the agent port's messages, `/api/v1/agents`, the load report): each value's
/// spelling, and whatever it writes read back by Foundation's `JSONSerialization` as it was given.
@Suite struct JSONWriterTests {
    /// `text` as a JSON string literal, quotes included.
    static func literal(_ text: String, _ escaping: JSONWriter.StringEscaping = .standard) -> String {
        var json = JSONWriter(escaping: escaping)
        json.string(text)
        return json.text
    }

    /// `value` as a JSON number.
    static func number(_ value: Double) -> String {
        var json = JSONWriter()
        json.number(value)
        return json.text
    }

    /// Reads `text` with Foundation, fragments (a bare string or number) allowed.
    static func foundation(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test("every control character, and DEL, is escaped: the two-character form where JSON has one")
    func everyControlCharacterIsEscaped() throws {
        let short: [UInt32: String] = [0x08: #"\b"#, 0x09: #"\t"#, 0x0A: #"\n"#, 0x0C: #"\f"#, 0x0D: #"\r"#]
        for value in Array(0x00...0x1F) + [0x7F] {
            let scalar = try #require(Unicode.Scalar(UInt32(value)))
            let expected = short[UInt32(value)] ?? String(format: "\\u%04x", value)
            #expect(Self.literal(String(scalar)) == "\"\(expected)\"", "U+\(String(value, radix: 16))")
            #expect(try Self.foundation(Self.literal("a\(scalar)b")) as? String == "a\(scalar)b")
        }
    }

    @Test func quotesAndBackslashesAreEscaped() {
        #expect(Self.literal(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(Self.literal(#"\"#) == #""\\""#)
        // An escape right after an escaped backslash keeps its own backslash.
        #expect(Self.literal("\\\u{1}") == #""\\\u0001""#)
        #expect(Self.literal("\\<", .inertInHTML) == #""\\\u003c""#)
    }

    @Test("non-ASCII stays UTF-8; U+2028 and U+2029 are escaped in both modes")
    func nonASCIIIsKeptButLineSeparatorsAreEscaped() throws {
        for escaping in [JSONWriter.StringEscaping.standard, .inertInHTML] {
            #expect(Self.literal("Grüße, 東京, 🚀", escaping) == "\"Grüße, 東京, 🚀\"")
            #expect(Self.literal("a\u{2028}b\u{2029}c", escaping) == #""a\u2028b\u2029c""#)
            // Their neighbours in UTF-8 (E2 80 A7, E2 80 AA) are kept.
            #expect(Self.literal("\u{2027}\u{202A}", escaping) == "\"\u{2027}\u{202A}\"")
        }
        #expect(try Self.foundation(Self.literal("js\u{2028}line\u{2029}")) as? String == "js\u{2028}line\u{2029}")
    }

    @Test("markup characters: kept by the standard mode (the agent port's error texts), escaped for a browser")
    func markupCharactersDependOnTheMode() {
        #expect(Self.literal("unexpected '}' <a&b>") == #""unexpected '}' <a&b>""#)
        #expect(Self.literal("</script>", .inertInHTML) == #""\u003c/script\u003e""#)
        #expect(Self.literal("a & 'b'", .inertInHTML) == #""a \u0026 \u0027b\u0027""#)
        #expect(Self.literal("\u{0}\u{1B}\u{7F}", .inertInHTML) == #""\u0000\u001b\u007f""#)
        #expect(Self.literal("\n\r\t\u{8}\u{C}", .inertInHTML) == #""\n\r\t\b\f""#)
    }

    @Test(arguments: StatusEscapingTests.hostile)
    func hostileTextIsInertForABrowserAndReadsBack(_ text: String) throws {
        let literal = Self.literal(text, .inertInHTML)
        #expect(!literal.contains("<") && !literal.contains(">") && !literal.contains("&"))
        #expect(try JSONDecoder().decode(String.self, from: Data(literal.utf8)) == text)
    }

    @Test func integersArePlainDigitsAtEveryMagnitude() {
        func integer(_ value: some BinaryInteger) -> String {
            var json = JSONWriter()
            json.integer(value)
            return json.text
        }
        #expect(integer(0) == "0")
        #expect(integer(-1) == "-1")
        #expect(integer(Int64.min) == "-9223372036854775808")
        #expect(integer(Int64.max) == "9223372036854775807")
        #expect(integer(UInt64.max) == "18446744073709551615")
    }

    @Test("doubles: the shortest round-trip text, one spelling; non-finite ones are null")
    func doublesHaveOneSpelling() throws {
        #expect(Self.number(0) == "0.0")
        #expect(Self.number(-0.0) == "-0.0")
        #expect(Self.number(58.4) == "58.4")
        #expect(Self.number(1e-7) == "1e-07")
        #expect(Self.number(1e21) == "1e+21")
        #expect(Self.number(1_732_520_000.125) == "1732520000.125")
        #expect(Self.number(.nan) == "null")
        #expect(Self.number(.infinity) == "null")
        #expect(Self.number(-.infinity) == "null")
        let values = [
            0, -0.0, 1e-7, 1e21, 0.1, 1.0 / 3, -2.5e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
            1_732_520_000.125, 0.00927734375,
        ]
        for value in values {
            let read = try #require(try Self.foundation(Self.number(value)) as? NSNumber).doubleValue
            #expect(read == value, "\(value) read back as \(read)")
            #expect(read.sign == value.sign, "\(value) lost its sign")
        }
    }

    @Test("nested objects and arrays: commas between members and elements only, empty containers")
    func nestingSeparatesMembersAndElements() {
        var json = JSONWriter()
        json.object { json in
            json.member("a", integer: 1)
            json.key("list")
            json.array([0, 1, 2]) { json, index in
                if index == 1 {
                    json.object { _ in }
                } else {
                    json.array([Int]()) { _, _ in }
                }
            }
            json.key("b \"quoted\"")
            json.object { json in
                json.member("yes", boolean: true)
                json.member("no", boolean: false)
                json.member("missing", number: nil)
                json.key("nothing")
                json.null()
            }
            json.member("s", string: "x")
        }
        #expect(
            json.text
                == #"{"a":1,"list":[[],{},[]],"b \"quoted\"":{"yes":true,"no":false,"missing":null,"nothing":null},"s":"x"}"#
        )
        #expect(String(decoding: json.line(), as: UTF8.self) == json.text + "\n")
    }

    @Test("a document of every kind of value reads back through JSONSerialization as it was written")
    func roundTripThroughFoundation() throws {
        let controls = String(String.UnicodeScalarView((0x00...0x1F).compactMap(Unicode.Scalar.init) + ["\u{7F}"]))
        let strings = [controls, #""\/"#, "Grüße 東京 🚀", "\u{2028}\u{2029}", "<b>'&'</b>", ""]
        for escaping in [JSONWriter.StringEscaping.standard, .inertInHTML] {
            var json = JSONWriter(escaping: escaping)
            json.object { json in
                json.key("strings")
                json.array(strings) { json, text in json.string(text) }
                json.member("big", integer: UInt64.max)
                json.member("negative", integer: Int64.min)
                json.member("small", number: 1e-7)
                json.member("large", number: 1e21)
                json.member("nan", number: .nan)
                json.member("flag", boolean: true)
                json.key("nested")
                json.object { json in
                    json.key(controls); json.array([1.5, -0.25]) { json, x in json.number(x) }
                }
            }
            let document = try #require(try Self.foundation(json.text) as? [String: Any])
            #expect(document["strings"] as? [String] == strings)
            #expect((document["big"] as? NSNumber)?.uint64Value == UInt64.max)
            #expect((document["negative"] as? NSNumber)?.int64Value == Int64.min)
            #expect((document["small"] as? NSNumber)?.doubleValue == 1e-7)
            #expect((document["large"] as? NSNumber)?.doubleValue == 1e21)
            #expect(document["nan"] is NSNull)
            #expect(document["flag"] as? Bool == true)
            let nested = try #require(document["nested"] as? [String: Any])
            #expect((nested[controls] as? [NSNumber])?.map(\.doubleValue) == [1.5, -0.25])
        }
    }
}
