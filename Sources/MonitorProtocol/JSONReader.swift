/// A strict, non-recursive JSON (RFC 8259) reader that validates a whole document and keeps
/// only the members of the top-level object.
///
/// The protocol's messages are flat objects of scalars, so the codec needs nothing but the
/// top-level members; anything nested is validated and skipped. Hand-written rather than
/// `JSONDecoder` because it is several times faster on the sample path, refuses what a strict
/// reader must (trailing commas, byte order marks, lone surrogates, invalid UTF-8) and cannot be
/// driven into deep recursion: nesting is tracked in a bit set and limited.
struct JSONReader {
    /// The kind of a JSON value.
    enum Kind: Equatable {
        case string, number, literalTrue, literalFalse, null, object, array
    }

    /// Where a value lies in the input. For strings the range excludes the quotes; for objects
    /// and arrays it covers only the opening bracket (their content is not kept).
    struct Token: Equatable {
        var kind: Kind
        var range: Range<Int>
        /// Strings: whether the content contains escapes and so needs unescaping.
        var hasEscapes = false
        /// Numbers: written without fraction or exponent.
        var isIntegerLiteral = false
        /// Numbers: starts with `-`.
        var isNegative = false
    }

    /// One member of the top-level object.
    struct Member {
        var key: Token
        var value: Token
    }

    /// A validated document: the top-level value and, when it is an object, its members in
    /// order of appearance.
    struct Document {
        var root: Token
        var members: [Member]
    }

    static let maximumDepth = 64

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Validates `bytes` as one JSON text (white space around it allowed) and returns its
    /// top-level members.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> Document {
        var reader = JSONReader(bytes)
        return try reader.readDocument()
    }

    private enum State {
        /// A value must follow.
        case value
        /// Just after `{`: a key or `}`.
        case firstKeyOrEnd
        /// After `,` in an object: a key.
        case key
        /// Just after `[`: a value or `]`.
        case firstElementOrEnd
        /// After a complete value: `,`, the closing bracket, or the end of the document.
        case afterValue
    }

    private mutating func readDocument() throws(ProtocolError) -> Document {
        var members: [Member] = []
        var root: Token?
        var pendingKey: Token?
        var depth = 0
        var containerIsObject: UInt64 = 0
        var state = State.value

        while true {
            skipWhiteSpace()
            switch state {
            case .value:
                guard index < bytes.count else { throw endOfInput() }
                let token: Token
                switch bytes[index] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let isObject = bytes[index] == UInt8(ascii: "{")
                    guard depth < Self.maximumDepth else {
                        throw .invalidJSON("nesting deeper than \(Self.maximumDepth) levels at offset \(index)")
                    }
                    token = Token(kind: isObject ? .object : .array, range: index..<(index + 1))
                    index += 1
                    record(token, depth: depth, root: &root, pendingKey: &pendingKey, members: &members)
                    let bit: UInt64 = 1 << UInt64(depth)
                    if isObject {
                        containerIsObject |= bit
                    } else {
                        containerIsObject &= ~bit
                    }
                    depth += 1
                    state = isObject ? .firstKeyOrEnd : .firstElementOrEnd
                    continue
                case UInt8(ascii: "\""):
                    token = try readString()
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    token = try readNumber()
                case UInt8(ascii: "t"):
                    token = try readLiteral("true", kind: .literalTrue)
                case UInt8(ascii: "f"):
                    token = try readLiteral("false", kind: .literalFalse)
                case UInt8(ascii: "n"):
                    token = try readLiteral("null", kind: .null)
                default:
                    throw unexpected()
                }
                record(token, depth: depth, root: &root, pendingKey: &pendingKey, members: &members)
                state = .afterValue

            case .firstKeyOrEnd, .key:
                guard index < bytes.count else { throw endOfInput() }
                if state == .firstKeyOrEnd, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    depth -= 1
                    state = .afterValue
                    continue
                }
                guard bytes[index] == UInt8(ascii: "\"") else { throw unexpected() }
                let key = try readString()
                skipWhiteSpace()
                guard index < bytes.count else { throw endOfInput() }
                guard bytes[index] == UInt8(ascii: ":") else { throw unexpected() }
                index += 1
                if depth == 1 {
                    pendingKey = key
                }
                state = .value

            case .firstElementOrEnd:
                guard index < bytes.count else { throw endOfInput() }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    depth -= 1
                    state = .afterValue
                } else {
                    state = .value
                }

            case .afterValue:
                if depth == 0 {
                    guard index == bytes.count else {
                        throw .invalidJSON("unexpected \(describeHere()) after the end of the value")
                    }
                    guard let root else { throw endOfInput() }
                    return Document(root: root, members: members)
                }
                guard index < bytes.count else { throw endOfInput() }
                let inObject = containerIsObject & (1 << UInt64(depth - 1)) != 0
                switch bytes[index] {
                case UInt8(ascii: ","):
                    state = inObject ? .key : .value
                case UInt8(ascii: "}") where inObject, UInt8(ascii: "]") where !inObject:
                    depth -= 1
                default:
                    throw unexpected()
                }
                index += 1
            }
        }
    }

    /// Keeps the root token and the values of the top-level object's members.
    private func record(
        _ token: Token,
        depth: Int,
        root: inout Token?,
        pendingKey: inout Token?,
        members: inout [Member]
    ) {
        if depth == 0 {
            root = token
        } else if depth == 1, let key = pendingKey {
            members.append(Member(key: key, value: token))
            pendingKey = nil
        }
    }

    private mutating func skipWhiteSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D:
                index += 1
            default:
                return
            }
        }
    }

    // MARK: - Scalars

    private mutating func readLiteral(_ literal: StaticString, kind: Kind) throws(ProtocolError) -> Token {
        let start = index
        let count = literal.utf8CodeUnitCount
        for offset in 0..<count {
            guard index < bytes.count else { throw endOfInput() }
            guard bytes[index] == literal.utf8Start[offset] else { throw unexpected() }
            index += 1
        }
        return Token(kind: kind, range: start..<(start + count))
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func readNumber() throws(ProtocolError) -> Token {
        let start = index
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative {
            index += 1
        }
        guard index < bytes.count else { throw endOfInput() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            try readDigits()
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            try readDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            try readDigits()
        }
        return Token(kind: .number, range: start..<index, isIntegerLiteral: isInteger, isNegative: isNegative)
    }

    /// One or more decimal digits.
    private mutating func readDigits() throws(ProtocolError) {
        let start = index
        while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
            index += 1
        }
        guard index > start else {
            guard index < bytes.count else { throw endOfInput() }
            throw .invalidJSON("expected a digit, found \(describeHere())")
        }
    }

    /// Validates a string starting at its opening quote: escapes, surrogate pairs, UTF-8 and
    /// the absence of raw control characters.
    private mutating func readString() throws(ProtocolError) -> Token {
        index += 1
        let start = index
        var hasEscapes = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let token = Token(kind: .string, range: start..<index, hasEscapes: hasEscapes)
                index += 1
                return token
            case UInt8(ascii: "\\"):
                hasEscapes = true
                try readEscape()
            case 0x00..<0x20:
                throw .invalidJSON(
                    "unescaped control character \(ProtocolText.describe(byte: byte)) in a string at offset \(index)")
            case 0x20..<0x80:
                index += 1
            default:
                try readUTF8Sequence()
            }
        }
        throw endOfInput()
    }

    private mutating func readEscape() throws(ProtocolError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else { throw endOfInput() }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            let unit = try readHexQuad()
            if unit & 0xFC00 == 0xD800 {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else { throw loneSurrogate(at: escapeStart) }
                index += 2
                guard try readHexQuad() & 0xFC00 == 0xDC00 else { throw loneSurrogate(at: escapeStart) }
            } else if unit & 0xFC00 == 0xDC00 {
                throw loneSurrogate(at: escapeStart)
            }
        default:
            throw .invalidJSON("invalid escape \\\(describeHere()) in a string at offset \(escapeStart)")
        }
    }

    private mutating func readHexQuad() throws(ProtocolError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw endOfInput() }
            guard let digit = Self.hexValue(bytes[index]) else {
                throw .invalidJSON("invalid \\u escape: \(describeHere()) is not a hexadecimal digit")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// One multi-byte UTF-8 sequence, checked against the well-formed ranges of Unicode
    /// (Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
    private mutating func readUTF8Sequence() throws(ProtocolError) {
        let start = index
        let lead = bytes[index]
        let continuationCount: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: continuationCount = 1
        case 0xE0: continuationCount = 2; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: continuationCount = 2
        case 0xED: continuationCount = 2; secondRange = 0x80...0x9F
        case 0xF0: continuationCount = 3; secondRange = 0x90...0xBF
        case 0xF1...0xF3: continuationCount = 3
        case 0xF4: continuationCount = 3; secondRange = 0x80...0x8F
        default: throw invalidUTF8(at: start)
        }
        index += 1
        for position in 0..<continuationCount {
            guard index < bytes.count else { throw endOfInput() }
            let range = position == 0 ? secondRange : 0x80...0xBF
            guard range.contains(bytes[index]) else { throw invalidUTF8(at: start) }
            index += 1
        }
    }

    // MARK: - Errors

    private func describeHere() -> String {
        index < bytes.count ? ProtocolText.describe(byte: bytes[index]) : "end of input"
    }

    private func unexpected() -> ProtocolError {
        .invalidJSON("unexpected \(describeHere()) at offset \(index)")
    }

    private func endOfInput() -> ProtocolError {
        .invalidJSON("unexpected end of input")
    }

    private func loneSurrogate(at offset: Int) -> ProtocolError {
        .invalidJSON("unpaired UTF-16 surrogate escape at offset \(offset)")
    }

    private func invalidUTF8(at offset: Int) -> ProtocolError {
        .invalidJSON("invalid UTF-8 at offset \(offset)")
    }
}
