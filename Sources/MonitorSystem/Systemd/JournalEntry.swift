import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// Sending one native journal entry; ``JournalFields`` decides what goes into it.
enum JournalEntry {
    /// One `sd_journal_sendv` call over all fields, packed into a single buffer so that every
    /// iovec points into memory that lives for the whole call. False when the journal refused.
    static func send(_ fields: [String]) -> Bool {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { bytes -> Bool in
            guard let base = bytes.baseAddress else { return false }
            var vectors = ranges.map { range in
                iovec(iov_base: base + range.lowerBound, iov_len: range.count)
            }
            return vectors.withUnsafeMutableBufferPointer { vectorBuffer in
                sd_journal_sendv(vectorBuffer.baseAddress, Int32(vectorBuffer.count)) >= 0
            }
        }
    }
}
