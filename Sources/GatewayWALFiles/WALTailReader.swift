package import GatewayStore
package import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads records back from one segment, from a known record's offset on: what remote write does
/// to forward from the log. Only the bytes the log has finished writing are read (`endBytes`,
/// taken under the log's lock), so a record being appended is never seen half-written.
package enum WALTailReader {
    /// Where a read stopped: the next record's offset in the segment and its number.
    package struct Position: Equatable, Sendable {
        package var offset: Int
        package var number: UInt64

        /// Where `segment`'s first record starts: past its header and checkpoint.
        package init(startOf segment: WALSegment) {
            offset = segment.recordsStart
            number = segment.firstRecord
        }
    }

    package struct Result {
        /// The records numbered after `after`, in order.
        package var records: [WALRecord]
        /// Where the next read of this segment starts.
        package var next: Position
        /// Set when the file does not hold what the log wrote there (changed behind its back): the
        /// rest of the segment is then unreadable.
        package var damage: String?
        /// The numbers of damaged records passed over by this read (their samples are lost), if any:
        /// from the first to the last, with intact ones between them possibly.
        package var passedOver: ClosedRange<UInt64>?
        /// How many of `records` come before the first record passed over (all, when none was).
        package var recordsBeforeLoss: Int? = nil

        package init(records: [WALRecord], next: Position, damage: String? = nil) {
            self.records = records
            self.next = next
            self.damage = damage
        }
    }

    static let framedBytes = ChecksummedRecord.overhead + WALFormat.longestPayload

    /// Up to `limit` records numbered above `after`, reading `path` from `start` up to `endBytes`.
    package static func read(
        _ path: String, from start: Position, endBytes: Int, after: UInt64, limit: Int
    ) throws(FileOperationError) -> Result {
        let descriptor = RegularFile.open(path, O_RDONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { throw FileOperationError(path, "open") }
        defer { close(descriptor) }
        var result = Result(records: [], next: start)
        while result.next.offset < endBytes, result.records.count < limit {
            // Enough for the records still wanted (or to skip ahead by), never more than 4 MiB.
            let wanted = min(endBytes - result.next.offset, min(4 << 20, max(64 << 10, limit * framedBytes)))
            var bytes = [UInt8](repeating: 0, count: wanted)
            let count = bytes.withUnsafeMutableBytes { buffer in
                var done = 0
                while done < wanted {
                    let got = pread(
                        descriptor, buffer.baseAddress! + done, wanted - done, off_t(result.next.offset + done))
                    if got < 0, errno == EINTR { continue }
                    if got <= 0 { return got < 0 ? -1 : done }
                    done += got
                }
                return done
            }
            guard count >= 0 else { throw FileOperationError(path, "read") }
            let chunk = bytes[..<count]
            var offset = 0
            scan: while result.records.count < limit {
                switch ChecksummedRecord.read(chunk, at: offset, lengths: WALFormat.payloadLengths) {
                case .record(let payload, let next):
                    if result.next.number > after, case .success(let record) = WALSegmentReader.decode(payload) {
                        result.records.append(record)
                    }
                    // A record no agent could send was passed over (and reported) at recovery; its number goes by.
                    result.next.number += 1
                    offset = next
                case .end, .torn:
                    break scan
                case .damaged(_, let next, let records) where next < count || result.next.offset + next == endBytes:
                    // Recovery passed over damaged records whose lengths proved right (the record
                    // after them intact, or the end of what was written); so does the forwarder.
                    let last = result.next.number + UInt64(records) - 1
                    if records > 0, last > after {
                        let lost = max(result.next.number, after + 1)...last
                        result.passedOver = result.passedOver.map { $0.lowerBound...last } ?? lost
                        if result.recordsBeforeLoss == nil { result.recordsBeforeLoss = result.records.count }
                    }
                    result.next.number += UInt64(records)
                    offset = next
                case .corrupt(let reason), .damaged(let reason, _, _):
                    // The record after it may only be cut by this read's end: read again from here.
                    if offset > 0, result.next.offset + count < endBytes { break scan }
                    result.damage = "\(path): corrupt record at offset \(result.next.offset + offset): \(reason)"
                    result.next.offset += offset
                    return result
                }
            }
            guard offset > 0 else {
                result.damage =
                    "\(path): ends at offset \(result.next.offset + count), before the \(endBytes) bytes written"
                return result
            }
            result.next.offset += offset
        }
        return result
    }
}
