import GatewayWALFiles
public import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The file in `wal-directory` that names the records remote write passed over unread (damaged,
/// gone, and with `acknowledge = forwarded` every record appended until the loss was found): their
/// numbers are at or below the forwarding position, yet nothing of them reached the receiver.
///
///     "MONDLOS2" | nonce u64 | count u32 | count × (first u64, last u64) | CRC-32C u32 of the preceding bytes
///
/// The nonce is new at every write; the forwarding position written after it names it
/// (``ForwardingPosition``), so that an older copy of this file (a backup put back, the same
/// empty file from another log) is not taken for the current one (audit 19, B). Version 1
/// (`"MONDLOS1"`, no nonce) is still read.
///
/// A restart must not take them as sent: remote write's order guard starts from each agent's
/// newest sample sent before it, and a sample passed over counted there would have the agent's
/// resend of it dropped as out of order (audit 15, F05). Written whole and synced before the
/// position can pass the records; at most ``maximumRanges``, merged beyond (coarser, never wrong).
public enum ForwardingLosses {
    public static let fileName = "remote-write.lost"
    public static let maximumRanges = 16
    static let magic = Array("MONDLOS2".utf8)
    static let firstMagic = Array("MONDLOS1".utf8)

    /// What loading found: the ranges, or, when the file cannot be trusted, every number (so that
    /// nothing is taken as sent), with the reason.
    public struct Loaded: Sendable, Equatable {
        public var ranges: [ClosedRange<UInt64>]
        public var problem: String?

        public init(ranges: [ClosedRange<UInt64>], problem: String? = nil) {
            self.ranges = ranges
            self.problem = problem
        }
    }

    static func encode(_ ranges: [ClosedRange<UInt64>], nonce: UInt64 = 0) -> [UInt8] {
        var bytes = magic
        LittleEndian.append(nonce, to: &bytes)
        LittleEndian.append(UInt32(ranges.count), to: &bytes)
        for range in ranges {
            LittleEndian.append(range.lowerBound, to: &bytes)
            LittleEndian.append(range.upperBound, to: &bytes)
        }
        LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Total: any content gives ranges (and the version 2 nonce) or a reason, never a trap.
    static func decode(_ bytes: [UInt8]) -> Result<
        (ranges: [ClosedRange<UInt64>], nonce: UInt64?), WALSegmentReader.HeaderError
    > {
        func fail(_ text: String) -> Result<
            (ranges: [ClosedRange<UInt64>], nonce: UInt64?), WALSegmentReader.HeaderError
        > {
            .failure(WALSegmentReader.HeaderError(description: text))
        }
        let first = bytes.prefix(firstMagic.count).elementsEqual(firstMagic)
        let nonceBytes = first ? 0 : 8
        let header = magic.count + nonceBytes + 4
        guard bytes.count >= header + 4, first || bytes.prefix(magic.count).elementsEqual(magic) else {
            return fail("bad magic or too short (\(bytes.count) bytes)")
        }
        let nonce = first ? nil : LittleEndian.read(UInt64.self, from: bytes[...], at: magic.count)
        let count = Int(LittleEndian.read(UInt32.self, from: bytes[...], at: magic.count + nonceBytes))
        guard count <= maximumRanges, bytes.count == header + count * 16 + 4 else {
            return fail("\(bytes.count) bytes for \(count) ranges")
        }
        let stored = LittleEndian.read(UInt32.self, from: bytes[...], at: bytes.count - 4)
        guard CRC32C.checksum(bytes.prefix(bytes.count - 4)) == stored else { return fail("checksum mismatch") }
        var ranges: [ClosedRange<UInt64>] = []
        for index in 0..<count {
            let first = LittleEndian.read(UInt64.self, from: bytes[...], at: header + index * 16)
            let last = LittleEndian.read(UInt64.self, from: bytes[...], at: header + index * 16 + 8)
            guard first <= last else { return fail("range \(first)-\(last) runs backwards") }
            ranges.append(first...last)
        }
        return .success((ranges, nonce))
    }

    /// - Parameter positionRecorded: whether a forwarding position past record 0 was found. The file
    ///   is written at every start with remote write, before any position, so a position without
    ///   it means the file was deleted (a restore that skipped it, a clean-up): that is not "no
    ///   losses", and nothing is taken as sent (audit 17, A).
    /// - Parameter nonce: the nonce the forwarding position names (``ForwardingPosition/Loaded/lossesNonce``),
    ///   if it names one: a file of another nonce is an older copy or another log's, and untrusted.
    public static func load(directory: String, positionRecorded: Bool, boundTo nonce: UInt64? = nil) -> Loaded {
        let path = directory + "/" + fileName
        var status = stat()
        if lstat(path, &status) != 0, errno == ENOENT {
            guard positionRecorded else { return Loaded(ranges: [], problem: nil) }
            return Loaded(
                ranges: [0...UInt64.max], problem: "\(path) is missing beside \(ForwardingPosition.fileName)")
        }
        let bytes: [UInt8]
        do throws(FileOperationError) {
            bytes = try DurableFiles.readFile(path, limit: magic.count + 8 + 4 + maximumRanges * 16 + 4 + 1)
        } catch {
            return Loaded(ranges: [0...UInt64.max], problem: error.description)
        }
        switch decode(bytes) {
        case .success(let found):
            if let nonce, nonce != 0, found.nonce != nonce {
                return Loaded(
                    ranges: [0...UInt64.max],
                    problem:
                        "\(path) is not the one \(ForwardingPosition.fileName) was written after (an older copy, or another log's)"
                )
            }
            return Loaded(ranges: found.ranges, problem: nil)
        case .failure(let reason): return Loaded(ranges: [0...UInt64.max], problem: "\(path): \(reason.description)")
        }
    }

    /// `ranges` with `more` added, at most ``maximumRanges`` (the lowest merged into one beyond).
    public static func adding(_ more: ClosedRange<UInt64>, to ranges: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
        var ranges = ranges + [more]
        if ranges.count > maximumRanges {
            let merged = ranges.count - maximumRanges + 1
            let oldest = ranges.prefix(merged)
            ranges = [oldest.map(\.lowerBound).min()!...oldest.map(\.upperBound).max()!] + ranges.dropFirst(merged)
        }
        return ranges
    }

    /// What of `ranges` a new run keeps: numbers up to `lastAppended`, the last record of the
    /// previous runs. An untrusted file's "every number" would otherwise leave nothing taken as
    /// sent at every later start too.
    public static func kept(_ ranges: [ClosedRange<UInt64>], upTo lastAppended: UInt64) -> [ClosedRange<UInt64>] {
        ranges.compactMap { range in
            range.lowerBound <= lastAppended ? range.lowerBound...min(range.upperBound, lastAppended) : nil
        }
    }

    /// Replaces the ranges in `directory`, durably, under `nonce` (new at each write).
    public static func store(_ ranges: [ClosedRange<UInt64>], nonce: UInt64 = 0, directory: String)
        throws(FileOperationError)
    {
        try DurableFiles.replace(directory + "/" + fileName, with: encode(ranges, nonce: nonce), durable: true)
        try DurableFiles.syncDirectory(directory)
    }
}
