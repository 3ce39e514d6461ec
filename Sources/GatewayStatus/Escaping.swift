/// Escaping for the two places peer-controlled text is written into: HTML and JSON.
///
/// Agent names are restricted by the native protocol, but report-format peers, remote addresses and fields added
/// later are not, and the status page must stay inert whatever a peer manages to get into the store. Both functions
/// escape every character that is special in *any* context they are used in, so a caller cannot pick the wrong one.
public enum Escaping {
    /// Text safe inside an HTML element or a double- or single-quoted attribute value.
    ///
    /// `&`, `<`, `>`, `"` and `'` become character references; NUL (which HTML parsers replace anyway) becomes
    /// U+FFFD. Everything else, non-ASCII included, is kept as is: the page is UTF-8.
    public static func html(_ text: String) -> String {
        escaping(text) { htmlReferences[$0] }
    }

    private static let htmlReferences: [Unicode.Scalar: String] = [
        "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "\0": "\u{FFFD}",
    ]

    /// A JSON string literal, quotes included (RFC 8259).
    ///
    /// Beyond what JSON requires (`"`, `\`, control characters), `<`, `>`, `&`, `'` and U+2028/U+2029 are written as
    /// `\u` escapes, so the text stays inert even if it is ever embedded in an HTML `<script>` or read by an old
    /// JavaScript parser. Non-ASCII is kept as UTF-8.
    public static func jsonString(_ text: String) -> String {
        let body = escaping(text) { scalar in
            if let short = jsonShortEscapes[scalar] { return short }
            let needsEscape = scalar.value < 0x20 || scalar.value == 0x7F || htmlSensitive.contains(scalar)
            return needsEscape ? unicodeEscape(scalar.value) : nil
        }
        return "\"" + body + "\""
    }

    private static let jsonShortEscapes: [Unicode.Scalar: String] = [
        "\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u{08}": "\\b", "\u{0C}": "\\f",
    ]

    /// Kept out of JSON strings as `\u` escapes, for the HTML and old-JavaScript reasons above.
    private static let htmlSensitive: Set<Unicode.Scalar> = ["<", ">", "&", "'", "\u{2028}", "\u{2029}"]

    /// `text` with each scalar that `replacement` maps replaced by its replacement, and the rest kept.
    private static func escaping(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) {
                result += replaced
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        var text = "\\u"
        for shift in stride(from: 12, through: 0, by: -4) {
            text.append(digits[Int((value >> UInt32(shift)) & 0xF)])
        }
        return text
    }
}
