/// The record framing shared by the agent's spool and the gateway's write-ahead log:
///
///     payload length u32 | CRC-32C u32 of the length bytes and the payload | payload
///
/// The checksum covers the length too, so that a flipped length bit is caught rather than taken
/// as the start of the next record. Reading is total: any bytes give a record, the end, a torn
/// tail or a named corruption, never a trap, and a length field is believed only within the
/// caller's bounds (a huge one is corruption, not an allocation).
package enum ChecksummedRecord {
    package static let overhead = 8

    /// What lies at an offset of a segment.
    package enum Next: Equatable {
        /// An intact record: its payload, and where the next record starts.
        case record(payload: ArraySlice<UInt8>, next: Int)
        /// The bytes end exactly here.
        case end
        /// The bytes end inside a record: a write cut short.
        case torn
        /// Damaged records whose extent is known (see ``pastDamage(_:at:lengths:)``): why the first
        /// cannot be trusted, where the intact record (or the end) after them starts, and how many
        /// records they were.
        case damaged(String, next: Int, records: Int)
        /// A complete record that cannot be trusted, and why. What follows is unreadable: the next
        /// record's start is unknown.
        case corrupt(String)
    }

    /// Appends one framed record holding `payload` to `bytes`.
    package static func append(_ payload: some Collection<UInt8>, to bytes: inout [UInt8]) {
        let start = bytes.count
        LittleEndian.append(UInt32(payload.count), to: &bytes)
        LittleEndian.append(UInt32(0), to: &bytes)  // the checksum, filled in below
        bytes.append(contentsOf: payload)
        let checksum = CRC32C.checksum(
            bytes[(start + 8)...], continuing: CRC32C.checksum(bytes[start..<(start + 4)]))
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: checksum.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// The record at `offset` (counted from the slice's start) whose payload length must lie in
    /// `lengths`; damage is stepped over where its extent is known. The spool, the log's recovery
    /// and its forwarder all read this way.
    package static func read(_ bytes: ArraySlice<UInt8>, at offset: Int, lengths: ClosedRange<Int>) -> Next {
        let next = readRecord(bytes, at: offset, lengths: lengths)
        guard case .corrupt(let reason) = next, let (after, records) = pastDamage(bytes, at: offset, lengths: lengths)
        else { return next }
        return .damaged(reason, next: after, records: records)
    }

    /// The record at `offset` alone: never `.damaged`.
    private static func readRecord(_ bytes: ArraySlice<UInt8>, at offset: Int, lengths: ClosedRange<Int>) -> Next {
        guard offset >= 0, offset <= bytes.count else { return .torn }
        let remaining = bytes.count - offset
        if remaining == 0 { return .end }
        guard remaining >= overhead else { return .torn }
        let length = Int(LittleEndian.read(UInt32.self, from: bytes, at: offset))
        guard lengths.contains(length) else {
            // A length never written: the length itself is damaged (zeros where a power loss left
            // allocated but unwritten blocks, say).
            let expected =
                lengths.lowerBound == lengths.upperBound
                ? "expected \(lengths.lowerBound)" : "outside \(lengths.lowerBound)...\(lengths.upperBound)"
            return .corrupt("payload length \(length), \(expected)")
        }
        guard remaining - overhead >= length else { return .torn }
        let start = bytes.startIndex + offset
        let stored = LittleEndian.read(UInt32.self, from: bytes, at: offset + 4)
        let payload = bytes[(start + overhead)..<(start + overhead + length)]
        let computed = CRC32C.checksum(payload, continuing: CRC32C.checksum(bytes[start..<(start + 4)]))
        guard computed == stored else { return .corrupt("checksum mismatch") }
        return .record(payload: payload, next: offset + overhead + length)
    }

    /// Where reading can go on past damage at `offset` (a record that failed its checksum), and how
    /// many records the damage covers: `nil` when the next record cannot be found.
    ///
    /// The damage ends where an intact record, or the end of the bytes, follows a chain of at most
    /// ``damagedRecordsPassedOver`` damaged ones, each as long as its length field says. With
    /// records of one fixed size the stride is known whatever a length field says, so a zeroed
    /// block is passed over too; with records of several sizes a damaged length field cannot be
    /// stepped over. (A wrong length would have to land on a record whose CRC-32C verifies: one
    /// chance in 2^32; landing on a true record start after more than one record, though, passes
    /// them over as one.)
    private static func pastDamage(_ bytes: ArraySlice<UInt8>, at offset: Int, lengths: ClosedRange<Int>)
        -> (next: Int, records: Int)?
    {
        var position = offset
        for records in 1...damagedRecordsPassedOver {
            guard position >= 0, bytes.count - position >= overhead else { return nil }
            var length = lengths.lowerBound
            if lengths.lowerBound != lengths.upperBound {
                length = Int(LittleEndian.read(UInt32.self, from: bytes, at: position))
                guard lengths.contains(length) else { return nil }
            }
            position += overhead + length
            switch readRecord(bytes, at: position, lengths: lengths) {
            case .record, .end: return (position, records)
            case .torn: return nil
            case .corrupt, .damaged: continue
            }
        }
        return nil
    }

    /// Damaged records in a row that reading passes over; more, and the rest is cut.
    package static let damagedRecordsPassedOver = 128
}
