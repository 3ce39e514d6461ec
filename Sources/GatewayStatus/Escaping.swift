/// Escaping for peer-controlled text written into the status page's HTML (its JSON is escaped by MonitorProtocol's
/// `JSONWriter`, with `.inertInHTML`).
///
/// Agent names are restricted by the native protocol, but report-format peers, remote addresses and fields added
/// later are not, and the status page must stay inert whatever a peer manages to get into the store. The function
/// escapes every character that is special in *any* context it is used in, so a caller cannot pick the wrong one.
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
}
