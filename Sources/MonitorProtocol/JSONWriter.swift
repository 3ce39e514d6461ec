/// Writes one JSON text (RFC 8259): the one writer behind every JSON the programs write, the
/// agent port's messages, `/api/v1/agents` and the load generator's report, so that each kind of
/// value has one spelling:
///
/// - strings: `"` and `\` escaped, the control characters that have a two-character escape as
///   `\b \f \n \r \t`, the others, DEL, U+2028 and U+2029 (line ends to old JavaScript parsers) as
///   `\u` escapes; with ``StringEscaping/inertInHTML`` also `<`, `>`, `&` and `'`, so that a
///   document stays inert even if a page ever embeds it. Non-ASCII is kept as UTF-8.
/// - integers: plain digits, never a `.0` or an exponent.
/// - doubles: the shortest text that reads back as the same double (Swift's `description`:
///   `58.4`, `58.0`, `1e-07`, `1e+21`, `-0.0`), so a timestamp keeps every bit. NaN and the
///   infinities have no JSON form: they are written as `null`, which a reader cannot take for a number.
///
/// Members and elements are separated by looking at the last byte written: after `{`, `[` or a
/// key's `:` a value takes no comma, after a complete value it does. No stack, no allocation
/// beyond the text itself (the agent writes one message a sample).
public struct JSONWriter {
    /// Which characters beyond what JSON requires are escaped in strings.
    public enum StringEscaping: Sendable {
        /// JSON's own, DEL, U+2028 and U+2029: the agent port's messages and the load report.
        case standard
        /// Also `<`, `>`, `&` and `'`: documents a browser reads (`/api/v1/agents`).
        case inertInHTML
    }

    /// The text so far, as UTF-8.
    public private(set) var bytes: [UInt8] = []
    private let escaping: StringEscaping

    public init(reservingCapacity capacity: Int = 256, escaping: StringEscaping = .standard) {
        bytes.reserveCapacity(capacity)
        self.escaping = escaping
    }

    /// The text so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The text and a newline: one line of a line-based stream (the agent port, the load report).
    public consuming func line() -> [UInt8] {
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// An object whose members `members` writes (with ``key(_:)`` and a value, or ``member(_:string:)``
    /// and its kin).
    public mutating func object(_ members: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        members(&self)
        bytes.append(UInt8(ascii: "}"))
    }

    /// An array of `elements`, each written by `write`.
    public mutating func array<Elements: Sequence>(
        _ elements: Elements, _ write: (inout JSONWriter, Elements.Element) -> Void
    ) {
        separate()
        bytes.append(UInt8(ascii: "["))
        for element in elements { write(&self, element) }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An object's key; the value written next completes the member.
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// A key that is the program's own literal and needs no escaping: copied whole rather than byte
    /// by byte (a few per cent of an agent's instructions per sample).
    public mutating func key(_ name: StaticString) {
        let literal = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        assert(literal.allSatisfy { Self.escape(for: $0) == nil }, "key \(name) needs escaping")
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: literal)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { appendEscaped($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func integer(_ value: some BinaryInteger) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A finite double in its shortest round-trip form; NaN and ±infinity as `null`.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func boolean(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    /// A comma before a member or element when a complete value precedes it in its container.
    private mutating func separate() {
        guard let last = bytes.last else { return }
        switch last {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ":"): return
        default: bytes.append(UInt8(ascii: ","))
        }
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            index += 1
            if let escape = Self.escape(for: byte) {
                if escape == UInt8(ascii: "u") {
                    appendUnicodeEscape(UInt16(byte))
                } else {
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(escape)
                }
            } else if escaping == .inertInHTML, Self.htmlSensitive.contains(byte) {
                appendUnicodeEscape(UInt16(byte))
            } else if byte == 0xE2, index + 1 < utf8.count, utf8[index] == 0x80, utf8[index + 1] & 0xFE == 0xA8 {
                // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR (E2 80 A8, E2 80 A9).
                appendUnicodeEscape(0x2000 | UInt16(0x28 | utf8[index + 1] & 0x01))
                index += 2
            } else {
                bytes.append(byte)
            }
        }
    }

    /// What follows the backslash for an ASCII byte JSON's standard escaping changes (`u` for a `\u`
    /// escape); nil for a byte written as it is.
    private static func escape(for byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte
        case 0x08: UInt8(ascii: "b")
        case 0x0C: UInt8(ascii: "f")
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0x00..<0x20, 0x7F: UInt8(ascii: "u")
        default: nil
        }
    }

    private static let htmlSensitive: [UInt8] = [
        UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "'"),
    ]

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `\u` and four lower-case hexadecimal digits.
    private mutating func appendUnicodeEscape(_ value: UInt16) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) {
            bytes.append(Self.hexDigits[Int((value >> UInt16(shift)) & 0xF)])
        }
    }
}

extension JSONWriter {
    /// A member: `key` and a string.
    public mutating func member(_ key: StaticString, string value: String) {
        self.key(key)
        string(value)
    }

    /// A member: `key` and an integer.
    public mutating func member(_ key: StaticString, integer value: some BinaryInteger) {
        self.key(key)
        integer(value)
    }

    /// A member: `key` and a double, `null` when it is missing or not finite.
    public mutating func member(_ key: StaticString, number value: Double?) {
        self.key(key)
        if let value { number(value) } else { null() }
    }

    /// A member: `key` and a boolean.
    public mutating func member(_ key: StaticString, boolean value: Bool) {
        self.key(key)
        boolean(value)
    }
}
