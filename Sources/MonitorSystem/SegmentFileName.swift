/// The names of numbered segment files, `<prefix>-<20 digits>.log`: zero-padded so that a
/// directory listing sorts them in order. The agent's spool (`seg-`) and the gateway's
/// write-ahead log (`wal-`) name their segments this way.
package struct SegmentFileName: Sendable {
    /// `seg` or `wal`, without the dash.
    package let prefix: String

    package init(prefix: String) {
        self.prefix = prefix
    }

    /// The file name of the segment numbered `number`.
    package func name(_ number: UInt64) -> String {
        let digits = String(number)
        return prefix + "-" + String(repeating: "0", count: 20 - digits.count) + digits + ".log"
    }

    /// The number in `name`, or `nil` for any name this does not write (another file in the directory).
    package func number(_ name: String) -> UInt64? {
        let head = prefix + "-"
        guard name.hasPrefix(head), name.hasSuffix(".log"), name.utf8.count == head.utf8.count + 24 else { return nil }
        let digits = name.dropFirst(head.count).dropLast(4)
        guard digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return UInt64(digits)
    }
}
