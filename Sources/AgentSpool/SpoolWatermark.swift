/// The acknowledgement watermark: the session and the highest sequence the gateway has confirmed.
///
/// Kept in a small text file (`acked`, one line `<session> <sequence>`) replaced atomically by
/// rename on every advance. It is not fsynced: after a power loss it may lag, and the agent then
/// replays a few samples the gateway already holds, which the gateway recognises and ignores
/// (when it still knows the session) rather than losing anything.
struct SpoolWatermark: Equatable {
    static let fileName = "acked"

    var session: String
    var sequence: UInt64

    var encoded: [UInt8] { Array("\(session) \(sequence)\n".utf8) }

    /// Reads the file's text; `nil` when it is not exactly one well-formed line with a sequence
    /// of at most 2^63 (``SpoolFormat/maximumSequence``).
    static func parse(_ bytes: [UInt8]) -> SpoolWatermark? {
        guard bytes.last == UInt8(ascii: "\n") else { return nil }
        let fields = bytes.dropLast().split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 2, SpoolFormat.isSession(fields[0]),
            (1...20).contains(fields[1].count), fields[1].allSatisfy({ (0x30...0x39).contains($0) }),
            let sequence = UInt64(String(decoding: fields[1], as: UTF8.self)),
            sequence <= SpoolFormat.maximumSequence
        else { return nil }
        return SpoolWatermark(session: String(decoding: fields[0], as: UTF8.self).lowercased(), sequence: sequence)
    }

    /// The number a well-formed line claims when it is above 2^63 (no spool numbers that far, so the
    /// file is corrupt or forged), to say so plainly; nil for any other content.
    static func sequenceAboveCeiling(_ bytes: [UInt8]) -> String? {
        guard bytes.last == UInt8(ascii: "\n") else { return nil }
        let fields = bytes.dropLast().split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 2, SpoolFormat.isSession(fields[0]), (1...40).contains(fields[1].count),
            fields[1].allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        let digits = String(decoding: fields[1], as: UTF8.self)
        if let sequence = UInt64(digits), sequence <= SpoolFormat.maximumSequence { return nil }
        return digits
    }
}
