/// Why a peer's byte stream cannot be cut into JSON objects.
///
/// Framing errors are fatal for the connection: after one, the stream position of the next
/// object is unknown, so the splitter refuses everything that follows.
public enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An object grew past the configured maximum before its closing brace arrived.
    case objectTooLarge(limit: Int)
    /// A byte that cannot appear where it stands: something other than white space between
    /// objects, or a closing bracket that does not match the open one. `offset` counts from
    /// the first byte ever appended, so it can be matched against a packet capture.
    case unexpectedByte(UInt8, offset: Int)
    /// Objects and arrays nested deeper than the configured limit.
    case nestingTooDeep(limit: Int)

    /// Worded for the peer: this is the `reason` of the error message sent before closing.
    public var description: String {
        switch self {
        case .objectTooLarge(let limit):
            "message exceeds \(limit) bytes"
        case .unexpectedByte(let byte, let offset):
            "unexpected byte \(ProtocolText.describe(byte: byte)) at stream offset \(offset)"
        case .nestingTooDeep(let limit):
            "message nests objects and arrays deeper than \(limit) levels"
        }
    }
}

/// Small text helpers shared by the error descriptions of the protocol layer.
enum ProtocolText {
    /// A byte shown safely in a log line or an error reason: printable ASCII quoted,
    /// everything else as hexadecimal, so a peer cannot inject control characters.
    static func describe(byte: UInt8) -> String {
        if byte >= 0x21, byte <= 0x7E {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "0x0\(hex)" : "0x\(hex)"
    }

    /// A peer-supplied string shown safely: quoted, cut to 32 characters, anything but
    /// printable ASCII replaced by `?`.
    static func excerpt(_ text: String) -> String {
        var shown = String(
            decoding: text.utf8.prefix(32).map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        if text.utf8.count > 32 {
            shown += "..."
        }
        return "\"\(shown)\""
    }
}
