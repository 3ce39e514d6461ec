extension JSONReader {
    /// The content of a string token that `read` validated, with escapes resolved, as UTF-8.
    static func utf8Content(of token: Token, in bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let content = UnsafeBufferPointer(rebasing: bytes[token.range])
        guard token.hasEscapes else { return Array(content) }
        var output: [UInt8] = []
        output.reserveCapacity(content.count)
        var index = 0
        while index < content.count {
            let byte = content[index]
            index += 1
            guard byte == UInt8(ascii: "\\"), index < content.count else {
                output.append(byte)
                continue
            }
            let escape = content[index]
            index += 1
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(hexQuad(content, at: &index))
                if scalar & 0xFC00 == 0xD800 {
                    index += 2  // the validated "\u" of the low surrogate
                    let low = UInt32(hexQuad(content, at: &index))
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                // Validation guarantees a well-formed scalar; U+FFFD only guards against misuse.
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                UTF8.encode(character) { output.append($0) }
            default:
                output.append(escape)  // `"`, `\` and `/` stand for themselves
            }
        }
        return output
    }

    /// The content of a validated string token as a `String`.
    static func string(of token: Token, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        if !token.hasEscapes {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[token.range]), as: UTF8.self)
        }
        return String(decoding: utf8Content(of: token, in: bytes), as: UTF8.self)
    }

    private static func hexQuad(_ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 where index < bytes.count {
            value = value << 4 | UInt16(hexValue(bytes[index]) ?? 0)
            index += 1
        }
        return value
    }
}
